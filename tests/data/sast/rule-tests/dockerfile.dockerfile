FROM python:3.12-slim
# ruleid: docker-pipe-to-shell
RUN curl -fsSL https://get.example/install.sh | sh
# ok: docker-pipe-to-shell
RUN curl -fsSLo /tmp/i.sh https://get.example/install.sh && sha256sum -c /tmp/i.sha256
# ruleid: docker-pip-no-hashes
RUN pip install flask
# ok: docker-pip-no-hashes
RUN pip install --require-hashes -r requirements.lock
