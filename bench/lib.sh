# What the bench scripts share (sourced): a free loopback TCP port, and a temporary
# directory whose processes (pids, by pid) are stopped and which is removed on exit.

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# bench_tmp PREFIX: d=a new directory /tmp/PREFIX.XXXXXX, pids=() whose members are
# killed, waited for, and d removed when the script exits.
bench_tmp() {
    d=$(mktemp -d "/tmp/$1.XXXXXX")
    pids=()
    trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$d"' EXIT
}
