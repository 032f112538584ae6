#!/usr/bin/env bash
# Start and stop the services sealpipe runs against on a development or CI
# machine, all on 127.0.0.1, on free ports, as plain processes of the caller
# (no systemd, no containers):
#
#   redis    redis-server (Debian package), no persistence
#   minio    MinIO built with `go install` at a pinned version, cached outside
#            the repo, with a Redis bucket-notification target (ARN
#            arn:minio:sqs::SEALPIPE:redis) feeding the list sealpipe:bucket-events
#   softhsm  a SoftHSM2 token labelled "sealpipe" (Debian packages softhsm2 and
#            opensc); a library, not a process
#   a department user in MinIO for civil-affairs (sealpipe access grant, run
#   with `go run` from this checkout), which may only upload to
#   inbox/civil-affairs/ of the bucket "sealpipe" and read its own folders
#
# usage: deploy/local/services.sh up|down|status|clean
#
#   up      install what is missing, start what is not running (reusing what
#           is), wait until each answers, then write the connection settings to
#           .services.env at the repo root as shell `export` lines, and ready
#           configuration for rclone, s3cmd, the AWS CLI and mc (the last two
#           when installed) as the department user to .services/
#   down    stop exactly the processes `up` started, by PID, and remove
#           .services.env and .services/; data and the token stay for the next `up`
#   status  show what runs
#   clean   down, then delete the state folder (data, token, logs)
#
# Settings (environment):
#   SEALPIPE_SERVICES_DIR  state folder (PID files, logs, data, token)
#                          default /tmp/sealpipe-services-$UID
#   SEALPIPE_SERVICES_ENV  file to write, default <repo>/.services.env; the S3
#                          tools' configuration goes to the folder beside it
#                          named after it without .env (default <repo>/.services/)
#   XDG_CACHE_HOME         MinIO binary cache root, default $HOME/.cache
#   GO                     Go command used to build MinIO and to run
#                          `sealpipe access grant`, default go
#
# Messages go to stderr. Any failure prints the service's log tail and exits
# non-zero. Both up and down are idempotent.
set -euo pipefail

# The MinIO release this project is tested against. Changing it builds a new
# binary into a new cache folder; the old one is left alone.
readonly MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
readonly MINIO_MODULE=github.com/minio/minio

# Fixed names the rest of sealpipe relies on (documented in README.md here).
readonly EVENTS_TARGET=SEALPIPE
readonly EVENTS_KEY=sealpipe:bucket-events
readonly EVENTS_ARN="arn:minio:sqs::${EVENTS_TARGET}:redis"
readonly S3_REGION=us-east-1 # MinIO's region when none is configured
readonly TOKEN_LABEL=sealpipe
readonly TOKEN_SO_PIN=87654321 # development only
readonly TOKEN_PIN=123456      # development only
# The department user `up` grants (sealpipe access grant): its policy lets it
# upload to inbox/$DEPT/ of $DEPT_BUCKET and read its own folders, nothing else.
readonly DEPT=civil-affairs # the demo's department
readonly DEPT_BUCKET=sealpipe # sealpipe's default SEALPIPE_BUCKET

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT
readonly STATE="${SEALPIPE_SERVICES_DIR:-/tmp/sealpipe-services-$UID}"
readonly ENV_FILE="${SEALPIPE_SERVICES_ENV:-$ROOT/.services.env}"
# The S3 tools' configuration, beside the env file: <repo>/.services/.
readonly TOOLS_DIR="${ENV_FILE%.env}"
# The name of the department's remote (rclone), alias (mc) and profile (AWS CLI).
readonly REMOTE="sealpipe-$DEPT"
readonly TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/sealpipe-tools"
readonly MINIO_BIN="$TOOLS/minio-$MINIO_VERSION/minio"
readonly GO="${GO:-go}"

# First line of the env file: lets `down` recognise a file it may delete.
readonly ENV_MARKER="# Written by deploy/local/services.sh"

log() { printf 'services: %s\n' "$*" >&2; }

die() {
	log "error: $*"
	exit 1
}

# fail NAME LOGFILE MESSAGE: report a service failure with its log tail.
fail() {
	log "error: $1: $3"
	if [ -s "$2" ]; then
		log "last lines of $2:"
		tail -n 40 "$2" | sed 's/^/    /' >&2
	fi
	exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- packages

softhsm_module() {
	local m
	for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
		if [ -f "$m" ]; then
			echo "$m"
			return
		fi
	done
	if have dpkg; then
		dpkg -L libsofthsm2 softhsm2 2>/dev/null | grep -m1 '/libsofthsm2\.so$' || true
	fi
}

# ensure_packages installs the Debian packages that are missing, running
# apt-get update once, and only when something is missing. Package
# maintainer scripts are kept from starting a system-wide redis-server.
ensure_packages() {
	local need=()
	have redis-server || need+=(redis-server)
	have softhsm2-util || need+=(softhsm2)
	[ -n "$(softhsm_module)" ] || need+=(softhsm2)
	have pkcs11-tool || need+=(opensc)
	have curl || need+=(curl)
	[ ${#need[@]} -eq 0 ] && return
	mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)

	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		have sudo || die "missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root"
		sudo=sudo
	fi
	have apt-get || die "missing ${need[*]} and apt-get is not available; install them by hand"

	log "installing ${need[*]}"
	# Without a policy-rc.d, redis-server's postinst would start a system
	# daemon on port 6379 that nobody stops.
	local policy=/usr/sbin/policy-rc.d added_policy=""
	if [ ! -e "$policy" ]; then
		$sudo sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy"
		added_policy=1
	fi
	local rc=0
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 ||
		rc=$?
	[ -z "$added_policy" ] || $sudo rm -f "$policy"
	[ "$rc" -eq 0 ] || die "apt-get install ${need[*]} failed (exit $rc)"
}

# ---------------------------------------------------------------- processes

# live_pid PIDFILE EXE prints the PID recorded in PIDFILE if that process is
# alive and runs the program EXE; it prints nothing otherwise. Checking the
# program guards against a recycled PID: we never signal someone else's
# process.
live_pid() {
	local pidfile="$1" want="$2" pid exe
	[ -s "$pidfile" ] || return 0
	pid="$(tr -d '[:space:]' <"$pidfile")" || return 0
	case "$pid" in '' | *[!0-9]*) return 0 ;; esac
	exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 0 # gone, zombie or not ours
	exe="${exe% (deleted)}"
	if [ "$(readlink -f "$exe")" = "$(readlink -f "$want")" ]; then
		echo "$pid"
	fi
}

# stop NAME EXE: stop the process recorded in $STATE/NAME.pid, if it is
# still that program; TERM first, KILL after 20 s.
stop() {
	local name="$1" exe="$2" pidfile="$STATE/$1.pid" pid i
	pid="$(live_pid "$pidfile" "$exe")"
	if [ -z "$pid" ]; then
		[ ! -e "$pidfile" ] || log "$name: not running (stale $pidfile removed)"
		rm -f "$pidfile"
		return
	fi
	log "$name: stopping pid $pid"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		[ -n "$(live_pid "$pidfile" "$exe")" ] || break
		sleep 0.1
	done
	if [ -n "$(live_pid "$pidfile" "$exe")" ]; then
		log "$name: pid $pid ignored SIGTERM for 20 s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

# spawn PIDFILE LOG COMMAND...: start COMMAND detached from the caller (own
# session, stdin from /dev/null, output to LOG, no inherited descriptors
# such as make's jobserver pipe or a caller's output pipe) and record its
# PID. COMMAND keeps the PID through the execs.
spawn() {
	local pidfile="$1" logf="$2"
	shift 2
	(
		for fd in /proc/self/fd/*; do
			fd="${fd##*/}"
			[ "$fd" -le 2 ] || eval "exec $fd>&-" 2>/dev/null || true
		done
		exec setsid "$@" </dev/null >>"$logf" 2>&1
	) &
	echo $! >"$pidfile"
}

# port_in_use PORT: something accepts connections on 127.0.0.1:PORT.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port [EXCLUDE...] prints a port nobody listens on, below Linux's
# ephemeral range so outgoing connections do not take it meanwhile. A race
# with another program remains; the callers retry when the bind fails.
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 12000))
		case " $* " in *" $p "*) continue ;; esac
		port_in_use "$p" || {
			echo "$p"
			return
		}
	done
	die "found no free port in 20000-31999 after 100 tries"
}

redis_ping() {
	local reply
	# shellcheck disable=SC2016 # $1 and $line belong to the inner bash
	reply="$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "PING\r\n" >&3 && IFS= read -r -t 2 line <&3 && printf %s "$line"' _ "$1" 2>/dev/null)" || return 1
	[ "${reply%$'\r'}" = "+PONG" ]
}

minio_live() {
	curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$1/minio/health/live" 2>/dev/null
}

# running PID: the process exists and is not a zombie, whatever it runs
# (just after spawn it may still be the shell that execs the program).
running() {
	local stat
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	stat="${stat##*) }" # the state field follows the parenthesised name
	[ "${stat%% *}" != Z ]
}

# wait_ready NAME PIDFILE LOG SECONDS CHECK ARGS...: wait until CHECK
# succeeds while the process lives. Returns 2 if the process ended.
wait_ready() {
	local name="$1" pid logf="$3" secs="$4" i
	pid="$(cat "$2")"
	shift 4
	for ((i = 0; i < secs * 4; i++)); do
		if "$@"; then
			return 0
		fi
		running "$pid" || return 2
		sleep 0.25
	done
	fail "$name" "$logf" "no answer after ${secs}s"
}

# ---------------------------------------------------------------- redis

redis_exe() { command -v redis-server; }

start_redis() {
	local exe pid port conf logf="$STATE/redis.log" try rc
	exe="$(redis_exe)"
	pid="$(live_pid "$STATE/redis.pid" "$exe")"
	if [ -n "$pid" ] && port="$(cat "$STATE/redis.port" 2>/dev/null)" && redis_ping "$port"; then
		log "redis: already running (pid $pid, 127.0.0.1:$port)"
		return
	fi
	[ -z "$pid" ] || stop redis "$exe" # alive but not answering: restart it

	mkdir -p "$STATE/redis"
	for try in 1 2 3; do
		port="$(free_port)"
		conf="$STATE/redis/redis.conf"
		cat >"$conf" <<-EOF
			# sealpipe development Redis: loopback only, queues only, no persistence.
			bind 127.0.0.1
			port $port
			protected-mode yes
			daemonize no
			dir $STATE/redis
			save ""
			appendonly no
			loglevel notice
		EOF
		: >"$logf"
		spawn "$STATE/redis.pid" "$logf" "$exe" "$conf" --save '' --appendonly no
		echo "$port" >"$STATE/redis.port"
		rc=0
		wait_ready redis "$STATE/redis.pid" "$logf" 30 redis_ping "$port" || rc=$?
		if [ "$rc" -eq 0 ]; then
			[ -n "$(live_pid "$STATE/redis.pid" "$exe")" ] ||
				fail redis "$logf" "port $port answers but not from pid $(cat "$STATE/redis.pid")"
			log "redis: started (pid $(cat "$STATE/redis.pid"), 127.0.0.1:$port)"
			return
		fi
		rm -f "$STATE/redis.pid"
		grep -qi 'already in use' "$logf" || fail redis "$logf" "exited during start-up"
		log "redis: port $port was taken meanwhile; retrying ($try/3)"
	done
	fail redis "$logf" "could not bind a free port"
}

# ---------------------------------------------------------------- minio

# wait_foreign_build waits for a `go install` of this MinIO version that
# another process already runs (two builds would only compete for the CPU).
wait_foreign_build() {
	local pattern="[g]o install ${MINIO_MODULE}@${MINIO_VERSION}" waited=0
	while pgrep -f "$pattern" >/dev/null 2>&1; do
		if ((waited % 30 == 0)); then
			log "minio: waiting for the build already running (pid(s) $(pgrep -f "$pattern" | tr '\n' ' '), ${waited}s so far)"
		fi
		((waited >= 3600)) && die "the MinIO build already running has not finished in an hour"
		sleep 5
		waited=$((waited + 5))
	done
}

minio_ok() { [ -x "$MINIO_BIN" ] && "$MINIO_BIN" --version >/dev/null 2>&1; }

ensure_minio() {
	minio_ok && return
	wait_foreign_build
	minio_ok && return
	have "$GO" || die "MinIO is not built yet and '$GO' (the Go command) is missing"

	local dir tmp buildlog="$STATE/minio-build.log"
	dir="$(dirname "$MINIO_BIN")"
	mkdir -p "$dir"
	exec 9>"$dir.lock"
	if ! flock -n 9; then
		log "minio: another services.sh is building MinIO; waiting for $dir.lock"
		flock 9
	fi
	if ! minio_ok; then
		tmp="$(mktemp -d "$dir.build.XXXXXX")"
		# shellcheck disable=SC2064 # $tmp is local: expand it now
		trap "rm -rf '$tmp'" EXIT # an interrupted build leaves nothing behind
		log "minio: building $MINIO_MODULE@$MINIO_VERSION (a cold build takes 3+ minutes; log $buildlog)"
		if ! CGO_ENABLED=0 GOBIN="$tmp" "$GO" install "$MINIO_MODULE@$MINIO_VERSION" >"$buildlog" 2>&1 ||
			[ ! -x "$tmp/minio" ]; then
			rm -rf "$tmp"
			fail minio "$buildlog" "go install $MINIO_MODULE@$MINIO_VERSION failed"
		fi
		mv -f "$tmp/minio" "$MINIO_BIN" # same file system: an atomic rename
		rm -rf "$tmp"
		trap - EXIT
		minio_ok || fail minio "$buildlog" "the fresh build $MINIO_BIN does not run"
		log "minio: built $MINIO_BIN"
	fi
	exec 9>&-
}

# minio_credentials prints "user password", generating them once per state
# folder: MinIO keeps data encrypted with the root credentials, so they must
# stay the same across restarts.
minio_credentials() {
	local f="$STATE/minio/credentials"
	if [ ! -s "$f" ]; then
		(umask 077 && printf 'sealpipe-dev %s\n' "$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')" >"$f")
	fi
	cat "$f"
}

# minio_has_arn PORT USER PASSWORD: the admin info lists the events ARN.
minio_has_arn() {
	# MinIO's admin API wants the payload hash header; this is SHA-256("").
	curl -fsS --max-time 10 --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$2:$3" \
		-H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
		"http://127.0.0.1:$1/minio/admin/v3/info" 2>/dev/null | grep -qF "\"$EVENTS_ARN\""
}

start_minio() {
	local redis_port="$1" pid port console user pass logf="$STATE/minio.log" try rc
	pid="$(live_pid "$STATE/minio.pid" "$MINIO_BIN")"
	if [ -n "$pid" ]; then
		port="$(cat "$STATE/minio.port" 2>/dev/null || true)"
		if [ "$(cat "$STATE/minio.redis-port" 2>/dev/null || true)" = "$redis_port" ] && [ -n "$port" ] && minio_live "$port"; then
			log "minio: already running (pid $pid, 127.0.0.1:$port)"
			return
		fi
		log "minio: running but unhealthy or tied to an old Redis port; restarting"
		stop minio "$MINIO_BIN"
	fi

	mkdir -p "$STATE/minio/data" "$STATE/minio/events-queue"
	read -r user pass < <(minio_credentials)
	for try in 1 2 3; do
		port="$(free_port "$redis_port")"
		console="$(free_port "$redis_port" "$port")"
		: >"$logf"
		# The Redis target: events of buckets configured with $EVENTS_ARN are
		# RPUSHed to $EVENTS_KEY in MinIO's "access" format; the queue
		# folder keeps them while Redis is unreachable.
		spawn "$STATE/minio.pid" "$logf" env MINIO_ROOT_USER="$user" MINIO_ROOT_PASSWORD="$pass" \
			MINIO_UPDATE=off \
			"MINIO_NOTIFY_REDIS_ENABLE_${EVENTS_TARGET}=on" \
			"MINIO_NOTIFY_REDIS_ADDRESS_${EVENTS_TARGET}=127.0.0.1:$redis_port" \
			"MINIO_NOTIFY_REDIS_KEY_${EVENTS_TARGET}=$EVENTS_KEY" \
			"MINIO_NOTIFY_REDIS_FORMAT_${EVENTS_TARGET}=access" \
			"MINIO_NOTIFY_REDIS_QUEUE_DIR_${EVENTS_TARGET}=$STATE/minio/events-queue" \
			"$MINIO_BIN" server --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" \
			"$STATE/minio/data"
		echo "$port" >"$STATE/minio.port"
		echo "$console" >"$STATE/minio.console-port"
		echo "$redis_port" >"$STATE/minio.redis-port"
		rc=0
		wait_ready minio "$STATE/minio.pid" "$logf" 180 minio_live "$port" || rc=$?
		if [ "$rc" -eq 0 ]; then
			[ -n "$(live_pid "$STATE/minio.pid" "$MINIO_BIN")" ] ||
				fail minio "$logf" "port $port answers but not from pid $(cat "$STATE/minio.pid")"
			log "minio: started (pid $(cat "$STATE/minio.pid"), 127.0.0.1:$port, console 127.0.0.1:$console)"
			return
		fi
		rm -f "$STATE/minio.pid"
		grep -qi 'already in use' "$logf" || fail minio "$logf" "exited during start-up"
		log "minio: a port was taken meanwhile; retrying ($try/3)"
	done
	fail minio "$logf" "could not bind free ports"
}

# check_minio_events fails unless MinIO registered the Redis target's ARN.
check_minio_events() {
	local port="$1" user pass i
	read -r user pass < <(minio_credentials)
	for ((i = 0; i < 20; i++)); do
		minio_has_arn "$port" "$user" "$pass" && return
		sleep 0.5
	done
	fail minio "$STATE/minio.log" "the admin info does not list $EVENTS_ARN (Redis notification target not registered)"
}

# ---------------------------------------------------------------- department user

# dept_can_list PORT ACCESS SECRET PREFIX prints the HTTP status of a
# ListObjectsV2 of PREFIX (slashes encoded, as curl 7.88's SigV4 needs)
# signed with the given credentials.
dept_can_list() {
	curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$2:$3" \
		-H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
		"http://127.0.0.1:$1/$DEPT_BUCKET?list-type=2&prefix=${4//\//%2F}" 2>/dev/null || true
}

# grant_dept PORT [--rotate] runs `sealpipe access grant` for $DEPT, built
# from this checkout with $GO, with the root credentials and nothing else
# from the caller's SEALPIPE_* settings, and records the access key it
# prints in $STATE/minio/dept-$DEPT.access. A secret key it issues goes to
# $STATE/minio/dept-$DEPT.secret. Its messages go to $STATE/dept.log.
grant_dept() {
	local port="$1" user pass out access
	shift
	read -r user pass < <(minio_credentials)
	out="$(
		cd "$ROOT" || exit 1
		while read -r v; do unset "$v"; done < <(compgen -e | grep '^SEALPIPE_' || true)
		export SEALPIPE_S3_ENDPOINT="http://127.0.0.1:$port" SEALPIPE_S3_ACCESS_KEY="$user" \
			SEALPIPE_S3_SECRET_KEY="$pass" SEALPIPE_S3_REGION="$S3_REGION" SEALPIPE_BUCKET="$DEPT_BUCKET"
		exec "$GO" run ./cmd/sealpipe --json access grant --dept "$DEPT" \
			--secret-file "$STATE/minio/dept-$DEPT.secret" "$@" 2>>"$STATE/dept.log"
	)" || return 1
	access="$(sed -n 's/^  "access_key": "\(.*\)",$/\1/p' <<<"$out")"
	[ -n "$access" ] || return 1
	echo "$access" >"$STATE/minio/dept-$DEPT.access"
}

# dept_works PORT: the recorded department credentials list the
# department's inbox, and are refused registry/.
dept_works() {
	local access secret
	access="$(cat "$STATE/minio/dept-$DEPT.access" 2>/dev/null)" || return 1
	secret="$(cat "$STATE/minio/dept-$DEPT.secret" 2>/dev/null)" || return 1
	[ "$(dept_can_list "$1" "$access" "$secret" "inbox/$DEPT/")" = 200 ] || return 1
	[ "$(dept_can_list "$1" "$access" "$secret" "registry/")" = 403 ] ||
		fail department "$STATE/dept.log" "user $access may list registry/: its policy is not the department's"
}

# ensure_dept grants the department user, or brings its policy up to date
# and keeps its secret key, and checks that the key works. A key that is
# missing or no longer works (the user was rotated or removed by hand) is
# issued anew. If sealpipe cannot be built (a work tree in the middle of a
# change) but the recorded key works, the user is kept as it is.
ensure_dept() {
	local port="$1"
	have "$GO" || die "'$GO' (the Go command) is needed to run sealpipe access grant"
	: >"$STATE/dept.log"
	if [ -s "$STATE/minio/dept-$DEPT.secret" ]; then
		if ! grant_dept "$port"; then
			dept_works "$port" || fail department "$STATE/dept.log" "sealpipe access grant --dept $DEPT failed"
			log "department: warning: sealpipe access grant failed (see $STATE/dept.log); keeping the user as it is"
		fi
		if dept_works "$port"; then
			log "department: $DEPT may upload to s3://$DEPT_BUCKET/inbox/$DEPT/ as $(cat "$STATE/minio/dept-$DEPT.access")"
			return
		fi
		log "department: the recorded secret key does not work; issuing a new one"
	fi
	log "department: issuing a secret key for $DEPT (go run ./cmd/sealpipe access grant; a first build takes a minute)"
	grant_dept "$port" --rotate || fail department "$STATE/dept.log" "sealpipe access grant --dept $DEPT --rotate failed"
	dept_works "$port" ||
		fail department "$STATE/dept.log" "the new credentials of $DEPT cannot list s3://$DEPT_BUCKET/inbox/$DEPT/"
	log "department: $DEPT may upload to s3://$DEPT_BUCKET/inbox/$DEPT/ as $(cat "$STATE/minio/dept-$DEPT.access")"
}

# ---------------------------------------------------------------- softhsm

softhsm_conf() { echo "$STATE/softhsm/softhsm2.conf"; }

ensure_token() {
	local conf tokens
	conf="$(softhsm_conf)"
	tokens="$STATE/softhsm/tokens"
	mkdir -p "$tokens"
	cat >"$conf" <<-EOF
		# sealpipe development SoftHSM2: tokens live in the services state folder.
		directories.tokendir = $tokens
		objectstore.backend = file
		log.level = ERROR
		slots.removable = false
		slots.mechanisms = ALL
		library.reset_on_fork = false
	EOF
	if SOFTHSM2_CONF="$conf" softhsm2-util --show-slots 2>/dev/null | grep -Eq "^[[:space:]]*Label:[[:space:]]+${TOKEN_LABEL}[[:space:]]*$"; then
		log "softhsm: token '$TOKEN_LABEL' present ($tokens)"
		return
	fi
	local out
	out="$(SOFTHSM2_CONF="$conf" softhsm2-util --init-token --free --label "$TOKEN_LABEL" \
		--so-pin "$TOKEN_SO_PIN" --pin "$TOKEN_PIN" 2>&1)" || die "softhsm: initialising token '$TOKEN_LABEL' failed: $out"
	log "softhsm: token '$TOKEN_LABEL' initialised ($tokens)"
}

# ---------------------------------------------------------------- S3 tools

# write_tools PORT writes, to $TOOLS_DIR, configuration for the S3 tools a
# department uploads batches with, as the department user (its access key
# and secret, nothing of root's), each naming the department's remote
# $REMOTE: rclone.conf and s3cfg always (install-deps.sh installs rclone and
# s3cmd), aws-config and aws-credentials when the AWS CLI is installed, and
# mc/config.json when mc is. The department's policy allows neither
# creating the bucket nor GetBucketLocation: rclone is told not to check the
# bucket, and every tool is given the region. README.md shows how to use
# each. Mode 0600 in a 0700 folder: they hold the secret key.
write_tools() {
	local port="$1" access secret endpoint="http://127.0.0.1:$1" tmp
	access="$(cat "$STATE/minio/dept-$DEPT.access")"
	secret="$(cat "$STATE/minio/dept-$DEPT.secret")"
	tmp="$(mktemp -d "$TOOLS_DIR.XXXXXX")"
	chmod 700 "$tmp"
	(
		umask 077
		cat >"$tmp/rclone.conf" <<-EOF
			# Written by deploy/local/services.sh up: department $DEPT on the local MinIO.
			# rclone --config $TOOLS_DIR/rclone.conf copy DIR $REMOTE:$DEPT_BUCKET/inbox/$DEPT/BATCH/
			[$REMOTE]
			type = s3
			provider = Minio
			env_auth = false
			access_key_id = $access
			secret_access_key = $secret
			endpoint = $endpoint
			region = $S3_REGION
			no_check_bucket = true
		EOF
		cat >"$tmp/s3cfg" <<-EOF
			# Written by deploy/local/services.sh up: department $DEPT on the local MinIO.
			# s3cmd -c $TOOLS_DIR/s3cfg put FILE s3://$DEPT_BUCKET/inbox/$DEPT/BATCH/
			[default]
			access_key = $access
			secret_key = $secret
			host_base = 127.0.0.1:$port
			host_bucket = 127.0.0.1:$port
			use_https = False
			bucket_location = $S3_REGION
			signature_v2 = False
		EOF
		if have aws; then
			cat >"$tmp/aws-config" <<-EOF
				# Written by deploy/local/services.sh up: department $DEPT on the local MinIO.
				[profile $REMOTE]
				region = $S3_REGION
				endpoint_url = $endpoint
				s3 =
				    addressing_style = path
			EOF
			cat >"$tmp/aws-credentials" <<-EOF
				[$REMOTE]
				aws_access_key_id = $access
				aws_secret_access_key = $secret
			EOF
		fi
		if have mc; then
			mkdir -p "$tmp/mc"
			cat >"$tmp/mc/config.json" <<-EOF
				{
				  "version": "10",
				  "aliases": {
				    "$REMOTE": {
				      "url": "$endpoint",
				      "accessKey": "$access",
				      "secretKey": "$secret",
				      "api": "s3v4",
				      "path": "on"
				    }
				  }
				}
			EOF
		fi
		echo "$ENV_MARKER up; removed by its 'down'." >"$tmp/WRITTEN-BY-SERVICES-SH"
	)
	rm -rf "$TOOLS_DIR"
	mv "$tmp" "$TOOLS_DIR"
	log "wrote S3 tool configuration for $DEPT to $TOOLS_DIR/: $(cd "$TOOLS_DIR" && find . -type f ! -name WRITTEN-BY-SERVICES-SH | sed 's|^\./||' | sort | tr '\n' ' ')"
}

# remove_tools deletes $TOOLS_DIR if this script wrote it.
remove_tools() {
	[ -d "$TOOLS_DIR" ] || return 0
	if [ -f "$TOOLS_DIR/WRITTEN-BY-SERVICES-SH" ]; then
		rm -rf "$TOOLS_DIR"
		log "removed $TOOLS_DIR"
	fi
}

# ---------------------------------------------------------------- env file

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

write_env() {
	local redis_port="$1" s3_port="$2" console="$3" module="$4" user pass tmp
	read -r user pass < <(minio_credentials)
	tmp="$(mktemp "$ENV_FILE.XXXXXX")"
	{
		echo "$ENV_MARKER up at $(date -u +%Y-%m-%dT%H:%M:%SZ); removed by its 'down'."
		echo "# Development settings only: loopback services, fixed PINs."
		echo "export SEALPIPE_SERVICES_DIR=$(q "$STATE")"
		echo "export SEALPIPE_REDIS_ADDR=$(q "127.0.0.1:$redis_port")"
		echo "export SEALPIPE_S3_ENDPOINT=$(q "http://127.0.0.1:$s3_port")"
		echo "export SEALPIPE_S3_CONSOLE=$(q "http://127.0.0.1:$console")"
		echo "export SEALPIPE_S3_ACCESS_KEY=$(q "$user")"
		echo "export SEALPIPE_S3_SECRET_KEY=$(q "$pass")"
		echo "export SEALPIPE_S3_REGION=$(q "$S3_REGION")"
		echo "export SEALPIPE_S3_EVENTS_ARN=$(q "$EVENTS_ARN")"
		echo "export SEALPIPE_S3_EVENTS_KEY=$(q "$EVENTS_KEY")"
		echo "export SEALPIPE_DEPT=$(q "$DEPT")"
		echo "export SEALPIPE_DEPT_BUCKET=$(q "$DEPT_BUCKET")"
		echo "export SEALPIPE_DEPT_ACCESS_KEY=$(q "$(cat "$STATE/minio/dept-$DEPT.access")")"
		echo "export SEALPIPE_DEPT_SECRET_KEY=$(q "$(cat "$STATE/minio/dept-$DEPT.secret")")"
		echo "export SEALPIPE_TOOLS_DIR=$(q "$TOOLS_DIR")"
		echo "export SEALPIPE_DEPT_REMOTE=$(q "$REMOTE")"
		echo "export SEALPIPE_PKCS11_MODULE=$(q "$module")"
		echo "export SOFTHSM2_CONF=$(q "$(softhsm_conf)")"
		echo "export SEALPIPE_PKCS11_TOKEN=$(q "$TOKEN_LABEL")"
		echo "export SEALPIPE_PKCS11_PIN=$(q "$TOKEN_PIN")"
		echo "export SEALPIPE_PKCS11_SO_PIN=$(q "$TOKEN_SO_PIN")"
	} >"$tmp"
	chmod 600 "$tmp"
	mv -f "$tmp" "$ENV_FILE"
	log "wrote $ENV_FILE"
}

# remove_env deletes the env file if this script wrote it for this state
# folder, so a stale file never points tests at stopped services.
remove_env() {
	[ -f "$ENV_FILE" ] || return 0
	if head -n1 "$ENV_FILE" | grep -qF "$ENV_MARKER" &&
		grep -qxF "export SEALPIPE_SERVICES_DIR=$(q "$STATE")" "$ENV_FILE"; then
		rm -f "$ENV_FILE"
		log "removed $ENV_FILE"
	fi
}

# ---------------------------------------------------------------- commands

cmd_up() {
	mkdir -p "$STATE"
	chmod 700 "$STATE"
	ensure_packages
	ensure_minio

	local module
	module="$(softhsm_module)"
	[ -n "$module" ] || die "softhsm: libsofthsm2.so not found after installing softhsm2"

	start_redis # first: MinIO connects its notification target at start-up
	local redis_port
	redis_port="$(cat "$STATE/redis.port")"
	start_minio "$redis_port"
	local s3_port
	s3_port="$(cat "$STATE/minio.port")"
	check_minio_events "$s3_port"
	ensure_dept "$s3_port"
	ensure_token
	write_tools "$s3_port"
	write_env "$redis_port" "$s3_port" "$(cat "$STATE/minio.console-port")" "$module"
	log "up: state in $STATE; 'make services-down' stops it"
}

cmd_down() {
	if [ -d "$STATE" ]; then
		stop minio "$MINIO_BIN" # first: it pushes events into Redis
		local exe
		exe="$(redis_exe || echo /usr/bin/redis-server)"
		stop redis "$exe"
	fi
	remove_env
	remove_tools
	log "down"
}

cmd_status() {
	local name exe pid
	for name in redis minio; do
		if [ "$name" = redis ]; then
			exe="$(redis_exe || echo /usr/bin/redis-server)"
		else
			exe="$MINIO_BIN"
		fi
		pid="$(live_pid "$STATE/$name.pid" "$exe")"
		if [ -n "$pid" ]; then
			printf '%-8s pid %s, 127.0.0.1:%s\n' "$name:" "$pid" "$(cat "$STATE/$name.port" 2>/dev/null)"
		else
			printf '%-8s stopped\n' "$name:"
		fi
	done
	if [ -f "$(softhsm_conf)" ]; then
		echo "softhsm: $(softhsm_conf)"
	else
		echo "softhsm: no token"
	fi
	echo "state:   $STATE"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
clean)
	cmd_down
	rm -rf "$STATE"
	log "removed $STATE"
	;;
*)
	echo "usage: $0 up|down|status|clean" >&2
	exit 2
	;;
esac
