"""What a user writes to test a 3-tab leader hand-over of their own app (the README's example).

The app under test is the chat demo at "/": its tabs share one WebSocket through SharedSocket.
"""

from pytabby.pytest import kill_leader, wait_for_leader, wait_py


def test_chat_survives_closing_the_leader_tab(tabs, run_py, pytabby_control):
    pages = tabs(3, url="/")
    wait_for_leader(pages, "sock.elector")
    _, rest = kill_leader(pages, "sock.elector")
    wait_for_leader(rest, "sock.elector")
    run_py(rest[0], "send_to_server({'type': 'chat', 'text': 'still here', 'from': 'test'})")
    for page in rest:
        wait_py(page, "sock.state == 'open'")
        page.page.get_by_text("test: still here").wait_for()
    pytabby_control.wait_for_connections(1)  # the new leader's, and no other
