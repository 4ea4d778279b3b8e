# ruff: noqa: E501  (each case is a YAML file written on one line; wrapping hides it)
"""One vulnerable and one fixed snippet per rule (written for Bastion from the formats' docs).

Each case is (rule, kind, vulnerable, fixed): the vulnerable text must raise the rule, the
fixed one must not. Workflows get ``permissions: {}`` unless the case is about permissions.
"""

from __future__ import annotations

SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"
DIGEST = "@sha256:" + "ab" * 32
CHECKOUT = f"actions/checkout@{SHA}"


def workflow(jobs: str, on: str = "push", top: str = "permissions: {}\n") -> str:
    """A workflow around ``jobs`` (indented under ``jobs:`` by the caller)."""
    return f"on: {on}\n{top}jobs:\n{jobs}"


def steps(*lines: str, on: str = "push", job: str = "") -> str:
    """A one-job workflow whose steps are ``lines`` (each a full ``- ...`` item)."""
    body = "".join(f"      {line}\n" for line in lines)
    return workflow(f"  build:\n    runs-on: ubuntu-latest\n{job}    steps:\n{body}", on=on)


NO_CRED = "with: {persist-credentials: false}"

CASES: list[tuple[str, str, str, str]] = [
    ("template-injection", "workflow",
     steps('- run: echo "${{ github.event.pull_request.title }}"', on="pull_request"),
     steps('- run: echo "$TITLE"\n        env: {TITLE: "${{ github.event.pull_request.title }}"}',
           on="pull_request")),
    ("template-injection", "action",
     "runs:\n  using: composite\n  steps:\n    - run: echo ${{ github.head_ref }}\n      shell: bash\n",
     "runs:\n  using: composite\n  steps:\n    - run: echo \"$GITHUB_HEAD_REF\"\n      shell: bash\n"),
    ("gitlab-injection", "gitlab",
     "t:\n  script:\n    - echo $CI_MERGE_REQUEST_TITLE\n",
     't:\n  script:\n    - echo "$CI_MERGE_REQUEST_TITLE"\n'),
    ("dangerous-triggers", "workflow",
     steps("- run: make", on="pull_request_target"), steps("- run: make", on="pull_request")),
    ("unsafe-checkout", "workflow",
     steps(f"- uses: {CHECKOUT}\n        with: {{ref: '${{{{ github.event.pull_request.head.sha }}}}', persist-credentials: false}}",
           on="pull_request_target"),
     steps(f"- uses: {CHECKOUT}\n        {NO_CRED}", on="pull_request_target")),
    ("unpinned-uses", "workflow",
     steps("- uses: example-org/tool@v2"), steps(f"- uses: example-org/tool@{SHA}")),
    ("sha-like-ref", "workflow",
     steps("- uses: example-org/tool@11bd719"), steps(f"- uses: example-org/tool@{SHA}")),
    ("excessive-permissions", "workflow",
     workflow("  a:\n    runs-on: ubuntu-latest\n    steps: [{run: make}]\n", top=""),
     workflow("  a:\n    runs-on: ubuntu-latest\n    steps: [{run: make}]\n")),
    ("excessive-permissions", "workflow",
     workflow("  a:\n    runs-on: ubuntu-latest\n    permissions: write-all\n    steps: [{run: make}]\n"),
     workflow("  a:\n    runs-on: ubuntu-latest\n    permissions: {contents: read}\n    steps: [{run: make}]\n")),
    ("secrets-inherit", "workflow",
     workflow(f"  a:\n    uses: org/repo/.github/workflows/w.yml@{SHA}\n    secrets: inherit\n"),
     workflow(f"  a:\n    uses: org/repo/.github/workflows/w.yml@{SHA}\n    secrets: {{t: '${{{{ secrets.T }}}}'}}\n")),
    ("overprovisioned-secrets", "workflow",
     steps("- run: echo '${{ toJSON(secrets) }}' > s.json"), steps("- run: make")),
    ("unredacted-secrets", "workflow",
     steps("- run: deploy --token '${{ fromJSON(secrets.CFG).token }}'"),
     steps("- run: deploy --token \"$T\"\n        env: {T: '${{ secrets.CFG_TOKEN }}'}")),
    ("self-hosted-runner", "workflow",
     workflow("  a:\n    runs-on: [self-hosted, linux]\n    steps: [{run: make}]\n", on="pull_request"),
     workflow("  a:\n    runs-on: [self-hosted, linux]\n    steps: [{run: make}]\n", on="push")),
    ("artipacked", "workflow",
     steps(f"- uses: {CHECKOUT}", f"- uses: actions/upload-artifact@{SHA}\n        with: {{path: .}}"),
     steps(f"- uses: {CHECKOUT}\n        {NO_CRED}", f"- uses: actions/upload-artifact@{SHA}\n        with: {{path: .}}")),
    ("cache-poisoning", "workflow",
     steps(f"- uses: actions/setup-node@{SHA}\n        with: {{cache: npm}}", on="release"),
     steps(f"- uses: actions/setup-node@{SHA}\n        with: {{node-version: '22.1.0'}}", on="release")),
    ("curl-pipe-shell", "workflow",
     steps("- run: curl -fsSL https://get.example.dev | sudo bash"),
     steps("- run: curl -fsSLo i.sh https://get.example.dev && sha256sum -c i.sha256 && sh i.sh")),
    ("curl-pipe-shell", "gitlab",
     "t:\n  script: ['wget -qO- https://x.example/i.sh | sh']\n", "t:\n  script: ['./i.sh']\n"),
    ("insecure-commands", "workflow",
     steps("- run: make", job="    env: {ACTIONS_ALLOW_UNSECURE_COMMANDS: 'true'}\n"),
     steps("- run: make", job="    env: {CI: 'true'}\n")),
    ("github-env", "workflow",
     steps('- run: echo "B=${{ github.head_ref }}" >> "$GITHUB_ENV"', on="pull_request"),
     steps('- run: echo "B=${GITHUB_SHA}" >> "$GITHUB_ENV"', on="pull_request")),
    ("unpinned-images", "workflow",
     workflow("  a:\n    runs-on: ubuntu-latest\n    container: node:22\n    steps: [{run: make}]\n"),
     workflow(f"  a:\n    runs-on: ubuntu-latest\n    container: node:22{DIGEST}\n    steps: [{{run: make}}]\n")),
    ("unpinned-images", "gitlab",
     "t:\n  image: node:22\n  script: [make]\n", f"t:\n  image: node:22{DIGEST}\n  script: [make]\n"),
    ("hardcoded-container-credentials", "workflow",
     workflow("  a:\n    runs-on: ubuntu-latest\n    container: {image: 'x" + DIGEST + "', credentials: {username: u, password: pw123}}\n    steps: [{run: make}]\n"),
     workflow("  a:\n    runs-on: ubuntu-latest\n    container: {image: 'x" + DIGEST + "', credentials: {username: u, password: '${{ secrets.REG }}'}}\n    steps: [{run: make}]\n")),
    ("bot-conditions", "workflow",
     steps("- run: make", job="    if: github.actor == 'dependabot[bot]'\n", on="pull_request"),
     steps("- run: make", job="    if: github.event.pull_request.user.login == 'dependabot[bot]'\n", on="pull_request")),
    ("known-compromised-action", "workflow",
     steps("- uses: tj-actions/changed-files@0e58ed8671d6b60d0890c21b07f8835ace038e67"),
     steps("- uses: tj-actions/changed-files@ed68ef82c095e0d48ec87eccea555d944a631a4c")),
    ("archived-uses", "workflow",
     steps(f"- uses: actions-rs/toolchain@{SHA}"), steps(f"- uses: dtolnay/rust-toolchain@{SHA}")),
    ("unsound-contains", "workflow",
     steps("- run: make", job="    if: contains('refs/heads/main', github.ref)\n"),
     steps("- run: make", job="    if: contains(fromJSON('[\"refs/heads/main\"]'), github.ref)\n")),
    ("unsound-condition", "workflow",
     steps("- run: make", job="    if: |\n      ${{ github.ref == 'refs/heads/main' }}\n"),
     steps("- run: make", job="    if: ${{ github.ref == 'refs/heads/main' }}\n")),
    ("unsound-ternary", "workflow",
     steps("- run: echo '${{ github.ref == 1 && env.X || 2 }}'"),
     steps("- run: echo '${{ github.ref == 1 && 'a' || 'b' }}'")),
    ("use-trusted-publishing", "workflow",
     steps("- run: twine upload dist/*"), steps("- run: python -m build")),
    ("adhoc-packages", "workflow",
     steps("- run: pip install requests"), steps("- run: pip install -r requirements.txt")),
    ("insecure-url-scheme", "workflow",
     steps("- run: curl -O http://dl.example.org/t.tgz"),
     steps("- run: curl -O https://dl.example.org/t.tgz")),
    ("secrets-outside-env", "workflow",
     steps("- run: deploy\n        env: {T: '${{ secrets.DEPLOY }}'}"),
     steps("- run: deploy\n        env: {T: '${{ secrets.DEPLOY }}'}", job="    environment: prod\n")),
    ("unpinned-tools", "workflow",
     steps(f"- uses: actions/setup-node@{SHA}\n        with: {{node-version: latest}}"),
     steps(f"- uses: actions/setup-node@{SHA}\n        with: {{node-version: '22.14.0'}}")),
    ("obfuscation", "workflow",
     steps(f"- uses: example-org/tool/./sub@{SHA}"), steps(f"- uses: example-org/tool/sub@{SHA}")),
    ("typosquat-uses", "workflow",
     steps(f"- uses: actions/chekout@{SHA}"), steps(f"- uses: actions/checkout@{SHA}\n        {NO_CRED}")),
    ("github-app", "workflow",
     steps(f"- uses: actions/create-github-app-token@{SHA}\n        with: {{app-id: 1}}"),
     steps(f"- uses: actions/create-github-app-token@{SHA}\n        with: {{app-id: 1, permission-contents: read}}")),
    ("misfeature", "workflow",
     steps("- run: dir\n        shell: cmd"), steps("- run: dir\n        shell: pwsh")),
    ("gitlab-unpinned-include", "gitlab",
     "include:\n  - project: g/p\n    file: /a.yml\n",
     f"include:\n  - project: g/p\n    ref: {SHA}\n    file: /a.yml\n"),
    ("bastion-egress-any", "bastion",
     "jobs:\n  t:\n    network: host\n    steps: [{run: make}]\n",
     "jobs:\n  t:\n    network: [pypi.org]\n    steps: [{run: make}]\n"),
    ("bastion-secrets-untrusted", "bastion",
     "on: [push, pull_request]\njobs:\n  t:\n    secrets: [TOKEN]\n    steps: [{run: make}]\n",
     "on: [push]\njobs:\n  t:\n    secrets: [TOKEN]\n    steps: [{run: make}]\n"),
    ("bastion-unpinned", "bastion",
     "jobs:\n  t:\n    steps: [{run: 'docker run --rm -v .:/w alpine:3 ls'}]\n",
     f"jobs:\n  t:\n    steps: [{{run: 'docker run --rm -v .:/w alpine:3{DIGEST} ls'}}]\n"),
]  # fmt: skip
