#!/bin/bash
# supervise.sh NEXT stands in for systemd in the restart tests (TestRestart*).
#
# Started by systemd-socket-activate, it holds the listening sockets it was
# given (fd 3 and up) for as long as it runs, as a .socket unit holds them
# across restarts of its service, and runs stoa on them. Run directly, stoa
# binds its own addresses: the comparison that shows what a restart costs
# without socket activation.
#
# The command to run is read from the file NEXT at every start, one word per
# field (no quoting). SIGUSR1 restarts it as `systemctl restart` does:
# SIGTERM to the running stoa, wait until it has exited, start the command
# NEXT names now. SIGTERM stops stoa and then the supervisor.
set -u
next=$1
pid=

start() {
	local cmd
	read -r -a cmd <"$next"
	(
		# LISTEN_PID names the process the sockets are for: the one
		# that execs stoa, not this shell.
		if [ -n "${LISTEN_FDS:-}" ]; then export LISTEN_PID=$BASHPID; fi
		exec "${cmd[@]}"
	) &
	pid=$!
	echo "supervise: started $pid ${cmd[0]}"
}

stop() {
	kill -TERM "$pid" 2>/dev/null
	local status=0
	wait "$pid" || status=$?
	echo "supervise: $pid exited with status $status"
}

restart=0
trap 'restart=1' USR1
trap 'stop; exit 0' TERM
start
while :; do
	# wait returns early when a trapped signal arrives.
	wait "$pid"
	status=$?
	if [ "$restart" = 1 ]; then
		restart=0
		stop
		start
		continue
	fi
	echo "supervise: $pid exited by itself with status $status"
	exit 1
done
