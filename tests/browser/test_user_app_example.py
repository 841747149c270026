"""The README's hand-over example, as a user would write it against the chat demo."""

from pytabby.pytest import kill_leader, wait_for_leader, wait_py


def test_chat_survives_closing_the_leader_tab(tabs, run_py, pytabby_control):
    pages = tabs(3, url="/")
    wait_for_leader(pages, "chat.sock.elector")
    _, rest = kill_leader(pages, "chat.sock.elector")
    wait_for_leader(rest, "chat.sock.elector")
    run_py(rest[0], "chat.send_to_server({'type': 'chat', 'text': 'still here', 'from': 'test'})")
    for page in rest:
        wait_py(page, "chat.sock.state == 'open'")
        wait_py(page, "'test: still here' in chat.document.body.textContent")
    pytabby_control.wait_for_connections(1)  # the new leader's, and no other
