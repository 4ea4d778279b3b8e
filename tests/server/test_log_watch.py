"""The shared watcher behind live logs: a change wakes every viewer of the file at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bastion.server.log_stream import stream_log
from bastion.server.log_watch import LogWatches


def test_a_change_wakes_every_viewer_and_the_last_one_stops_the_poller(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_bytes(b"")

    async def scenario() -> None:
        watches = LogWatches(tick=0.005)
        async with watches.follow(log) as one, watches.follow(log) as two:
            assert one is two  # one poller for the file
            seen = one.generation
            waiters = [asyncio.create_task(w.wait(seen, 5)) for w in (one, two)]
            await asyncio.sleep(0.02)
            log.write_bytes(b"line\n")
            assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True]
            assert await one.wait(seen, 5)  # already changed: no wait at all
            assert not await one.wait(one.generation, 0.02)  # nothing new: times out
        assert not watches._watches  # the poller went with its viewers

    asyncio.run(scenario())


def test_a_new_line_reaches_a_viewer_well_before_the_poll(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_bytes(b"")

    async def scenario() -> float:
        stream = stream_log(log, 0, lambda: "running", poll=5.0)
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.1)
        written = time.monotonic()
        with log.open("ab") as handle:
            handle.write(b"hello\n")
        event = await asyncio.wait_for(first, 2)
        assert event == 'id: 6\ndata: "hello"\n\n'
        return time.monotonic() - written

    assert asyncio.run(scenario()) < 1.0  # without the watcher: the 5 s poll


def test_the_stream_still_ends_when_the_job_is_final(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_bytes(b"a\nb")

    async def scenario() -> list[str]:
        return [e async for e in stream_log(log, 0, lambda: "passed", poll=0.01)]

    assert asyncio.run(scenario()) == [
        'id: 2\ndata: "a"\n\n',
        'id: 3\ndata: "b"\n\n',
        'event: end\ndata: "passed"\n\n',
    ]
