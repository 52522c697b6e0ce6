"""`make dev` reloads the functions for a change to what they are built from, and for nothing
else (tool caches such as schemathesis's, docs, tests); requests sent while they reload all
get an answer."""
import pathlib
import threading
import time
import urllib.error
import urllib.request
import uuid

from conftest import ROOT, dev_stack

FUNCTIONS = {"signup", "signin", "me", "signout"}


def function_pids(marker):
    """{pid: name} of this stack's function processes (their environment carries `marker`)."""
    found = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            exe = pathlib.Path((entry / "exe").readlink())
        except OSError:
            continue
        if f"DEV_STACK_MARKER={marker}".encode() in environ and exe.name in FUNCTIONS \
                and exe.parent == ROOT / "target" / "debug":
            found[int(entry.name)] = exe.name
    return found


def wait_for(condition, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_only_a_change_to_what_the_functions_are_built_from_reloads_them():
    marker = uuid.uuid4().hex
    with dev_stack(DEV_STACK_MARKER=marker) as api:
        before = function_pids(marker)
        assert set(before.values()) == FUNCTIONS, before
        probes = [ROOT / ".schemathesis" / f"probe-{marker}", ROOT / "docs" / f"probe-{marker}.md",
                  ROOT / "tests" / f"probe-{marker}.txt",
                  ROOT / "functions" / "me" / "tests" / f"probe-{marker}.txt",
                  ROOT / "shared" / f"probe-{marker}.md"]
        try:
            for probe in probes:
                probe.parent.mkdir(exist_ok=True)
                probe.write_text("not a source file\n")
            # The watcher reacts within a second or two; give it five.
            assert not wait_for(lambda: function_pids(marker) != before, 5), "reloaded"
        finally:
            for probe in probes:
                probe.unlink(missing_ok=True)
        assert api.call("GET", "/me")[0] == 401

        # The control: a source file rewritten (same content) reloads every function, so the
        # silence above is the ignore rules at work, not a watcher that sees nothing.
        source = ROOT / "functions" / "me" / "src" / "main.rs"
        source.write_text(source.read_text())
        assert wait_for(lambda: set(function_pids(marker)).isdisjoint(before), 180), "no reload"
        assert wait_for(lambda: api.call("GET", "/me")[0] == 401, 180)


def test_requests_sent_during_a_reload_are_all_answered():
    marker = uuid.uuid4().hex
    with dev_stack(DEV_STACK_MARKER=marker, RATE_LIMIT_CAPACITY="1000000",
                   RATE_LIMIT_REFILL_PER_SECOND="1000000") as api:
        before = set(function_pids(marker))
        outcomes, stop = [], threading.Event()

        def keep_calling():
            while not stop.is_set():
                started = time.monotonic()
                request = urllib.request.Request(api.base + "/me")
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        outcome = response.status
                except urllib.error.HTTPError as err:
                    outcome = err.code
                except OSError as err:  # a hang (the client's timeout) or a broken connection
                    outcome = repr(err)
                outcomes.append((outcome, time.monotonic() - started))

        callers = [threading.Thread(target=keep_calling) for _ in range(4)]
        for caller in callers:
            caller.start()
        try:
            time.sleep(1)
            source = ROOT / "functions" / "me" / "src" / "main.rs"
            source.write_text(source.read_text())
            reloaded = wait_for(lambda: set(function_pids(marker)).isdisjoint(before), 180)
            time.sleep(2)
        finally:
            stop.set()
            for caller in callers:
                caller.join()
        assert reloaded
        # 401 from the function; 503 from the front for a request the reload swallowed (after
        # API Gateway's 30 s), never an exception or the client's 60 s timeout.
        assert {outcome for outcome, _ in outcomes} <= {401, 503}, outcomes
        assert max(seconds for _, seconds in outcomes) < 45
        assert sum(1 for outcome, _ in outcomes if outcome == 401) > 10
