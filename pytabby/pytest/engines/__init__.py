"""Browser engines behind one small tab handle, so one test runs on Chromium, Firefox and WebKit."""
