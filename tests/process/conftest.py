"""Process tests: functions-framework processes over real sockets, against the emulators. Their
fixtures (`serve`, `gateway`, `secret_manager`, `log_dir`) come from tests/support/stand_ins.py."""
