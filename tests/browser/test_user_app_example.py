"""What a user writes to test a 3-tab leader hand-over of their own app (the README's example).

The app under test is the chat demo at "/": its tabs share one WebSocket through SharedSocket.
"""

from pytabby.pytest_plugin import kill_leader, server_stats, wait_for_leader, wait_py


def test_chat_survives_closing_the_leader_tab(tabs, run_py, pytabby_server):
    pages = tabs(3, url="/")
    wait_for_leader(pages, "sock.elector")
    _, rest = kill_leader(pages, "sock.elector")
    wait_for_leader(rest, "sock.elector")
    run_py(rest[0], "send_to_server({'type': 'chat', 'text': 'still here', 'from': 'test'})")
    for page in rest:
        wait_py(page, "sock.state == 'open'")
        page.get_by_text("test: still here").wait_for()
    assert server_stats(pytabby_server)["connections"] >= 1
