collect_ignore = ["counter_app"]  # the user app, tested from a venv of its own by test_user_app.py
