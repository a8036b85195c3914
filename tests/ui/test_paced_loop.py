"""The editor's asyncio loop runs ready callbacks in short slices between Qt's own work, and the
run controller keeps its HTTP pool between runs; asyncio semantics and results stay the same."""

import asyncio
import time

import pytest
from qtpy.QtCore import QTimer

from studio.connectors.openai.fake_server import FakeOpenAIServer
from test_run_batching import _fan_out  # the same 30-node fan-out


def test_runs_reuse_the_pool_until_it_is_closed(window, run_async):
    with FakeOpenAIServer(latency_ms=5) as server:
        window.runs.base_url = server.base_url
        flow = _fan_out(30)
        window.document.load(flow)
        assert window.run_flow()
        result = run_async(window.runs.wait())
        assert result.status == "succeeded", result.error
        assert {window.canvas.status(n.id) for n in flow.nodes} == {"succeeded"}
        listed = [window.run_panel.events.topLevelItem(i).text(2) for i in range(window.run_panel.events.topLevelItemCount())]
        assert listed.count("Succeeded") == len(flow.nodes) and listed[-1] == "Run finished"
        pool = window.runs._pool
        assert pool is not None
        assert window.run_flow()
        assert run_async(window.runs.wait()).status == "succeeded"
        assert window.runs._pool is pool  # the second run reused the clients and sockets
        window.runs.close_pool()
        assert window.runs._pool is None
        run_async(asyncio.sleep(0.05))  # the close runs on the loop


@pytest.fixture
def paced(qapp):
    from studio.ui.loop import PacedEventLoop

    previous = asyncio.get_event_loop()
    loop = PacedEventLoop(qapp, slice_ms=5)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(previous)


def test_paced_loop_runs_callbacks_in_order_in_slices_with_qt_in_between(paced):
    order, ticks = [], []

    def busy(i):
        order.append(i)
        end = time.perf_counter() + 0.002
        while time.perf_counter() < end:
            pass

    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(lambda: ticks.append(len(order)))
    timer.start()
    for i in range(40):  # 80 ms of work queued at once
        paced.call_soon(busy, i)
    cancelled = paced.call_soon(order.append, "never")
    cancelled.cancel()

    async def settle():
        while paced.pending_callbacks():
            await asyncio.sleep(0)
        return "done"

    assert paced.run_until_complete(settle()) == "done"
    timer.stop()
    assert order == list(range(40))  # FIFO, the cancelled one skipped
    # Qt's timer got turns while the queue drained: the work was sliced, not run in one go
    assert len({t for t in ticks if 0 < t < 40}) >= 3


def test_paced_loop_runs_tasks_and_timeouts_like_asyncio(paced):
    async def child(i):
        await asyncio.sleep(0.001 * (i % 3))
        return i * i

    async def main():
        results = await asyncio.gather(*(child(i) for i in range(50)))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.sleep(1), 0.01)
        return results

    assert paced.run_until_complete(main()) == [i * i for i in range(50)]
