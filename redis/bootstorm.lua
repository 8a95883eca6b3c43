#!lua name=bootstorm
-- Redis Function library of bootstorm: bs_apply stores a batch of one launcher's
-- events, as the launcher encoded them (MessagePack, decoded here with cmsgpack), into
-- the keys of redis/SCHEMA.md: atomically, idempotently, and with the one check of
-- sequence numbers. Not for validating fields (the collector's codec, common/event.c,
-- did that before the call) nor for queries (aggregator/).
--
--   FCALL bs_apply N bs:host:HOST [bs:{RUN}:meta ...] HOST NOW_TR MSG1 MSG2 ...
--   -> {ACKED, CODE1, CODE2, ...}: ACKED the host's last seq with everything before it
--      stored (0: none yet), CODEi 1 applied, 0 duplicate, -1 after a gap (not applied),
--      2 refused: its run does not exist (counted in bs:host:HOST refused_no_run; the
--      sequence goes on past it, so the launcher is never stuck on it)
--   FCALL bs_run_create 2 bs:{RUN}:meta bs:runs RUN CREATED_MS FIELD VALUE ...
--   -> 1, or an error when the run exists (nothing written)
--   FCALL bs_run_note 1 bs:{RUN}:meta RUN set|del|incr FIELD [VALUE] -> 1, or an error
--      when the run does not exist or the field is not one the collector or CLI may note
--   FCALL_RO bs_version 0 -> BS_LIB_VERSION
-- This library is the one writer of bs:{RUN}:meta: the collector creates runs and notes
-- hosts' fates through it, `bootstorm check` marks runs invalid through it.

local BS_LIB_VERSION = 9

-- ---- key names: mirror common/keys.h (tests/unit/test_keys.c compares the two) ----
local KEY = {
    runs = function() return 'bs:runs' end,
    hosts = function() return 'bs:hosts' end,
    host = function(host) return 'bs:host:' .. host end,
    collector = function() return 'bs:collector' end,
    pool = function(name) return 'bs:pool:' .. name end,
    pools = function() return 'bs:pools' end,
    run = function(run, name) return 'bs:{' .. run .. '}:' .. name end,
    meta = function(run) return 'bs:{' .. run .. '}:meta' end,
    seq = function(run) return 'bs:{' .. run .. '}:seq' end,
    ev = function(run) return 'bs:{' .. run .. '}:ev' end,
    agg = function(run) return 'bs:{' .. run .. '}:agg' end,
    hagg = function(run, host) return 'bs:{' .. run .. '}:hagg:' .. host end,
}

-- Integers arrive as Lua numbers (doubles): exact below 2^53; realtime ns (~1.8e18) are
-- kept to within 256 ns. '%d' prints the value as a 64-bit integer.
-- Small whole numbers (guest indexes, counts, seconds) are formatted once and kept:
-- a string.format costs thousands of instructions in Redis's Lua (callgrind).
local SMALL = {}
local function istr(n)
    if type(n) ~= 'number' then return n end
    local s = SMALL[n]
    if s then return s end
    s = string.format('%d', n)
    if n >= 0 and n < 4096 and n % 1 == 0 then SMALL[n] = s end
    return s
end

-- Milliseconds with up to 6 decimals and no trailing zeros ("1234.5").
local function fmt_ms(x)
    local s = string.format('%.6f', x):gsub('0+$', ''):gsub('%.$', '')
    return s
end
-- ns as ms, a number: a sorted-set score as is (the same double its decimal string
-- would give); hash values are formatted once, when written (fmt_val).
local function ms(ns) return ns / 1e6 end

-- How a cached hash value is written: integers in full, other numbers (ms) as fmt_ms.
-- Never a number to redis.call: Redis would print it with '%.17g', a floating-point
-- conversion several times the cost of '%d' (measured: callgrind on bench/ingest.sh).
local function fmt_val(v)
    if type(v) ~= 'number' then return v end
    if v == math.floor(v) and v > -9.2e18 and v < 9.2e18 then return istr(v) end
    return fmt_ms(v)
end

-- ---- a write-back cache of hashes, lists and sets for one call ----
-- Values read back are strings, values set in this call may be numbers (formatted
-- at the write): compare them through tonumber.
-- Each hash is read once (HGETALL) and written once (HSET) per call, and each set and
-- list gets one SADD/RPUSH: a batch costs a few calls per key, not per event.
local B

local function batch_new() B = {h = {}, s = {}, sk = {}, hk = {}, runs = {}, l = {}, lk = {}} end

local function hload(key)
    local e = B.h[key]
    if not e then
        local all = redis.call('HGETALL', key)
        e = {f = {}, dirty = {}}
        for i = 1, #all, 2 do e.f[all[i]] = all[i + 1] end
        B.h[key] = e
        B.hk[#B.hk + 1] = key
    end
    return e
end
local function hget(key, field) return (B.h[key] or hload(key)).f[field] end
local function hset(key, field, v)
    local e = B.h[key] or hload(key)
    e.f[field] = v
    e.dirty[field] = true
end
local function hincr(key, field, n)
    local v = (tonumber(hget(key, field)) or 0) + n
    hset(key, field, v)
    return v
end
local function hsetnx(key, field, v)
    if hget(key, field) then return false end
    hset(key, field, v)
    return true
end
local function rpush(key, v)
    local l = B.l[key]
    if not l then
        l = {}
        B.l[key] = l
        B.lk[#B.lk + 1] = key
    end
    l[#l + 1] = v
end
local function sadd(key, member)
    local s = B.s[key]
    if not s then
        s = {}
        B.s[key] = s
        B.sk[#B.sk + 1] = key
    end
    s[member] = true
end

local function batch_flush()
    for _, key in ipairs(B.hk) do
        local e, set, n = B.h[key], {}, 0
        local vals = e.f
        for f in pairs(e.dirty) do
            local v = vals[f]
            set[n + 1] = f
            set[n + 2] = type(v) == 'number' and fmt_val(v) or v
            n = n + 2
        end
        if n > 0 then redis.call('HSET', key, unpack(set, 1, n)) end
    end
    for _, key in ipairs(B.lk) do redis.call('RPUSH', key, unpack(B.l[key])) end
    for _, key in ipairs(B.sk) do
        local m = {}
        for x in pairs(B.s[key]) do m[#m + 1] = x end
        redis.call('SADD', key, unpack(m))
    end
end

-- ---- aggregates ----

local function num_lt(a, b) return tonumber(a) < tonumber(b) end
local function num_gt(a, b) return tonumber(a) > tonumber(b) end
local function hset_if(key, field, v, better)
    local cur = hget(key, field)
    if not cur or better(v, cur) then hset(key, field, v) end
end
-- Optional fields are always sent; empty strings and zeros mean "not known".
local function hset_opt(key, field, v)
    if v and v ~= '' and v ~= 0 then hset(key, field, v) end
end

-- Sums and extremes of a call are gathered in plain tables (k.add, k.lo, k.hi: key ->
-- field -> value) and go to the cache once per field at the end of the call (acc_flush).
local function acc_max(k, key, field, v)
    local t = k.hi[key]
    if not t then
        t = {}
        k.hi[key] = t
    end
    local cur = t[field]
    if not cur or v > cur then t[field] = v end
end
local function acc_flush(k)
    if k.last then hset(k.seq, k.host, k.last) end
    for key, t in pairs(k.add) do
        for field, n in pairs(t) do hset(key, field, (tonumber(hget(key, field)) or 0) + n) end
    end
    for key, t in pairs(k.lo) do
        for field, v in pairs(t) do hset_if(key, field, v, num_lt) end
    end
    for key, t in pairs(k.hi) do
        for field, v in pairs(t) do hset_if(key, field, v, num_gt) end
    end
end

-- Counters and extremes go to the run's agg hash and to the host's hagg:HOST; sorted
-- sets of durations to the run's (NAME) alone: its members start with HOST:, so the
-- aggregator filters a host's share from it (no per-host copy to write per event).
-- incr, both_min and both_max write the two tables directly (k.add_a/k.add_h, ...):
-- a guest's events call them a dozen times, and every call and lookup counts here.
local function incr(k, field, n)
    local a, h = k.add_a, k.add_h
    a[field] = (a[field] or 0) + n
    h[field] = (h[field] or 0) + n
end
local function both_min(k, field, v)
    local a, h = k.lo_a, k.lo_h
    if not a[field] or v < a[field] then a[field] = v end
    if not h[field] or v < h[field] then h[field] = v end
end
local function both_max(k, field, v)
    local a, h = k.hi_a, k.hi_h
    if not a[field] or v > a[field] then a[field] = v end
    if not h[field] or v > h[field] then h[field] = v end
end
-- The guest's id, HOST:IDX: built only by the handlers that use it.
local function gid(k, f) return k.host_ .. istr(f.guest) end

-- A boot's member in the boot and lag zsets: HOST:IDX, or HOST:IDX#SEQ (SEQ the
-- event's) when HOST:IDX is there already, from an earlier generation of a restarted
-- guest (zadd_flush asks ZMSCORE which, once per call: no guest state is kept here).
local function zadd_boot(k, name, score, f)
    local z = k.z[name]
    if not z then
        z = {}
        k.z[name] = z
    end
    z[#z + 1] = {score, gid(k, f), f.seq}
end
local function zadd_flush(k)
    for name, z in pairs(k.z) do
        local key, names, seen, args = KEY.run(k.run, name), {}, {}, {}
        for i, e in ipairs(z) do names[i] = e[2] end
        local had = redis.call('ZMSCORE', key, unpack(names))
        for i, e in ipairs(z) do
            local m = e[2]
            if had[i] or seen[m] then m = m .. '#' .. istr(e[3]) end
            seen[e[2]] = true
            args[2 * i - 1], args[2 * i] = e[1], m
        end
        redis.call('ZADD', key, unpack(args))
    end
end

-- ---- one handler per run event type: k holds run, host and the run's hash keys, f
-- the decoded event. What needs a guest's earlier events
-- (its state, phases, generations, the ready-count timeline) is not kept here: the
-- aggregator folds it from the run's events (aggregator/agg_events.c) when asked.
local H = {}
function H.run_start(k, f)
    local host = k.host
    hset(k.meta, 'accel:' .. host, f.accel)
    hset(k.meta, 'start_tr:' .. host, f.tr)
    if f.kvm then hset(k.meta, 'kvm:' .. host, f.kvm) end
    if f.prio then hset(k.meta, 'prio:' .. host, f.prio) end
    hset_opt(k.meta, 'mem_base_kib:' .. host, f.mem_used_kib)
    hincr(k.meta, 'hosts_started', 1)
    -- what the start did not say (concurrency, restarts, trace) the launcher tells
    for _, n in ipairs({'kind', 'backend', 'pattern', 'count', 'interval_ms', 'hold_s', 'timeout_s',
            'concurrency', 'restart_after_ms', 'restart_permille', 'trace', 'start'}) do
        if f[n] then hsetnx(k.meta, n, istr(f[n])) end
    end
end

function H.spawn(k, f)
    incr(k, 'spawned', 1)
    local lo = k.lo_a
    if not lo[k.f_first_spawn] or f.tm < lo[k.f_first_spawn] then lo[k.f_first_spawn] = f.tm end
    if not lo.first_spawn_tr or f.tr < lo.first_spawn_tr then lo.first_spawn_tr = f.tr end
    if f.lag_ns and k.interval then zadd_boot(k, 'lag', ms(f.lag_ns), f) end
end

function H.ready(k, f)
    local b = ms(f.boot_ns)
    zadd_boot(k, 'boot', b, f)
    incr(k, 'ready', 1)
    both_min(k, 'boot_min_ms', b)
    both_max(k, 'boot_max_ms', b)
    -- summed in decimal ms rounded to 6 places: exact for inputs of whole ns
    incr(k, 'boot_sum_ms', b)
    local hi = k.hi_a
    if not hi[k.f_last_ready] or f.tm > hi[k.f_last_ready] then hi[k.f_last_ready] = f.tm end
    if not hi.last_ready_tr or f.tr > hi.last_ready_tr then hi.last_ready_tr = f.tr end
end

-- spawned, first_output and marker change no counter: they are in ev, for the fold
local function stored() end
H.spawned, H.first_output, H.marker = stored, stored, stored

function H.exit(k) incr(k, 'exited', 1) end

function H.failed(k, f)
    -- a ramp stopped it before it was ready: asked for, not a failure
    if f.reason == 'stopped' then incr(k, 'stopped', 1) return end
    incr(k, 'failed:' .. f.reason, 1)
    incr(k, 'failed', 1)
end

function H.mem(k, f)
    local host = k.host
    redis.call('XADD', KEY.run(k.run, 'mem:' .. host), '*', 'tm', istr(f.tm), 'tr', istr(f.tr),
        'used_kib', istr(f.mem_used_kib), 'rss_kib', istr(f.rss_kib), 'running', istr(f.running),
        'pss_kib', istr(f.pss_kib or 0), 'pss_n', istr(f.pss_n or 0),
        'guest_cpu_ms', istr(f.guest_cpu_ms or 0))
    both_max(k, 'peak_mem_kib', f.mem_used_kib)
    acc_max(k, k.agg, 'peak_mem_kib:' .. host, f.mem_used_kib)
    acc_max(k, k.agg, 'peak_rss_kib:' .. host, f.rss_kib)
    if f.pss_kib and f.pss_kib ~= 0 then
        acc_max(k, k.agg, 'peak_pss_kib:' .. host, f.pss_kib)
    end
end

function H.run_end(k, f)
    local host = k.host
    hset(k.meta, 'end_tr:' .. host, f.tr)
    if f.cpu_ms then hset(k.meta, 'cpu_ms:' .. host, f.cpu_ms) end
    hset_opt(k.meta, 'rss_kib:' .. host, f.rss_kib)
    hset_opt(k.meta, 'error:' .. host, f.error)
    -- start: snapshot | template: how long the host took to prepare its template
    hset_opt(k.meta, 'prep_ns:' .. host, f.prep_ns)
    hset_opt(k.meta, 'state_kib:' .. host, f.state_kib)
    hincr(k.meta, 'hosts_done', 1)
end

-- start: snapshot | template: the host's template is saved (its clock); the collector
-- sends the storm's start once every host is prepared (collector/control.c control_go)
function H.prepared(k, f)
    hset(k.meta, 'prepared_tr:' .. k.host, f.tr)
    hset_opt(k.meta, 'prep_ns:' .. k.host, f.prep_ns)
    hset_opt(k.meta, 'state_kib:' .. k.host, f.state_kib)
end

-- trace mode: console lines go to their own stream, not into ev (they would swamp it)
function H.line(k, f)
    redis.call('XADD', KEY.run(k.run, 'lines'), '*', 'guest', gid(k, f), 'tm', istr(f.tm), 'text', f.text)
end

function H.restart(k, f)
    local host = k.host
    hset(k.meta, 'restart_tm:' .. host, f.tm)
    hset_if(k.meta, 'restart_tr', f.tr, num_lt)
    hincr(k.meta, 'restart_count:' .. host, f.count)
    hincr(k.meta, 'restart_count', f.count)
    incr(k, 'restarts', 1)
end

-- seq `from`..seq are gone from the launcher (its bounded outbox dropped them, or one
-- could not be encoded): counted, and the host's sequence goes on past them.
function H.lost(k, f)
    if f.counted > 0 then incr(k, 'lost', f.counted) end
end

-- A type this library does not know yet (a newer launcher) is kept raw in ev and
-- counted, never refused: an error would stop that launcher's acks for good.
local function unknown(k, f) hincr(k.agg, 'unknown:' .. f.type, 1) end

-- ---- host registry: hello and heartbeat ----

local function on_hello(hk, f)
    hset(hk, 'cores', f.cores)
    hset(hk, 'mem_total_kib', f.mem_total_kib)
    hset(hk, 'kvm', f.kvm)
    hset(hk, 'backends', f.backends)
    hset(hk, 'version', f.version)
end

-- ---- the batch ----

-- The run's key names, built once per call (one host per call).
local function run_keys(run, host)
    local k = B.runs[run]
    if not k then
        k = {run = run, host = host, meta = KEY.meta(run), agg = KEY.agg(run),
            hagg = KEY.hagg(run, host), seq = KEY.seq(run), ev = KEY.ev(run), host_ = host .. ':',
            f_first_spawn = 'first_spawn_tm:' .. host, f_last_ready = 'last_ready_tm:' .. host,
            add_a = {}, add_h = {}, lo_a = {}, lo_h = {}, hi_a = {}, hi_h = {}, z = {}}
        k.add = {[k.agg] = k.add_a, [k.hagg] = k.add_h}
        k.lo = {[k.agg] = k.lo_a, [k.hagg] = k.lo_h}
        k.hi = {[k.agg] = k.hi_a, [k.hagg] = k.hi_h}
        B.runs[run] = k
    end
    return k
end

local function apply_run_event(host, f, raw)
    local run = f.run
    local k = run_keys(run, host)
    -- only runs created through bs_run_create take events: no launcher makes up a run
    if k.exists == nil then
        k.exists = hget(k.meta, 'run') ~= nil
        k.interval = hget(k.meta, 'pattern') == 'interval'
    end
    if not k.exists then return 2 end
    -- per (run, host) too: a launcher without a spool restarts its seq at 1 with a hello,
    -- and a resend of an old run's events must then change nothing
    if k.last == nil then k.last = tonumber(hget(k.seq, host)) or false end
    if k.last and f.seq <= k.last then return 0 end
    k.last = f.seq
    if f.type ~= 'line' then
        rpush(k.ev, raw)
    end
    local h = H[f.type] or unknown
    h(k, f)
    return 1
end

-- The one sequence check: the host's events apply in seq order without holes. A lost
-- event stands for its whole range. Returns the code and the new last seq.
local function judge(f, acked)
    if f.type == 'hello' and f.seq == 1 then acked = 0 end -- a new launcher sequence
    local first = f.type == 'lost' and f.from or f.seq
    if acked and f.seq <= acked then return 0, acked end
    if acked and first > acked + 1 then return -1, acked end
    return 1, f.seq
end

local function decode_all(host, args)
    local evs = {}
    for i = 3, #args do
        local ok, f = pcall(cmsgpack.unpack, args[i])
        if not ok or type(f) ~= 'table' or f.host ~= host or type(f.seq) ~= 'number' or
            type(f.type) ~= 'string' or (f.run ~= nil and type(f.run) ~= 'string') then
            return nil, 'bs_apply: message ' .. (i - 2) .. ' is not an event of ' .. host
        end
        evs[#evs + 1] = f
    end
    return evs
end

-- Everything is decoded and checked before the first write: a refused call changes nothing.
local function bs_apply(keys, args)
    local host, now_tr, hk = args[1], args[2], keys[1]
    if not host or host == '' or hk ~= KEY.host(host) or not now_tr then
        return redis.error_reply('bs_apply: usage 1+ bs:host:HOST [bs:{RUN}:meta...] HOST NOW_TR MSG...')
    end
    local evs, err = decode_all(host, args)
    if not evs then return redis.error_reply(err) end
    batch_new()
    local acked = tonumber(hget(hk, 'acked'))
    local out, start = {0}, acked
    for i, f in ipairs(evs) do
        local code, raw = -1, args[i + 2]
        if f.type == 'lost' then -- at most the part of the range not stored already
            f.counted = math.min(f.lost, f.seq - math.max(f.from - 1, acked or 0))
        end
        if out[#out] ~= -1 then code, acked = judge(f, acked) end
        if code == 1 and f.run and f.run ~= '' and f.type ~= 'hello' and f.type ~= 'heartbeat' then
            code = apply_run_event(host, f, raw)
            if code == 2 then hincr(hk, 'refused_no_run', 1) end
        elseif code == 1 and f.type == 'hello' then
            on_hello(hk, f)
            sadd(KEY.hosts(), host)
        end
        out[#out + 1] = code
    end
    for _, k in pairs(B.runs) do
        acc_flush(k)
        zadd_flush(k)
    end
    if acked ~= start then hset(hk, 'acked', acked) end
    hset(hk, 'last_seen_tr', now_tr)
    hset(hk, 'state', 'up')
    hsetnx(hk, 'first_seen_tr', now_tr)
    batch_flush()
    out[1] = acked or 0
    return out
end

-- ---- the run's meta: created and noted here only ----

-- What the collector writes at a start (collector/control.c write_meta).
local CREATE_FIELDS = {run = true, name = true, kind = true, backend = true, accel = true,
    pattern = true, hosts = true, split = true, count = true, interval_ms = true, hold_s = true,
    timeout_s = true, created_tr = true, hosts_expected = true, start_at_tr = true,
    count_total = true, start = true}
-- What may be noted on a run later: by the collector (hosts' fates, clocks) and by
-- `bootstorm check` (invalid). A field is NAME or NAME:HOST.
local NOTE_FIELDS = {count = true, missing = true, lost_tr = true, hosts_lost = true,
    clock_offset_ns = true, clock_err_ns = true, clock_flag = true, invalid = true,
    start_at_tr = true} -- start snapshot | template: moved once every host is prepared

local function bs_run_create(keys, args)
    local meta, runs, run, created = keys[1], keys[2], args[1], tonumber(args[2])
    if not run or meta ~= KEY.meta(run) or runs ~= KEY.runs() or not created or #args % 2 ~= 0 then
        return redis.error_reply('bs_run_create: usage 2 bs:{RUN}:meta bs:runs RUN CREATED_MS F V ...')
    end
    if redis.call('EXISTS', meta) == 1 then return redis.error_reply('run ' .. run .. ' exists already') end
    local set = {'run', run}
    for i = 3, #args, 2 do
        if not CREATE_FIELDS[args[i]] then
            return redis.error_reply('bs_run_create: ' .. args[i] .. ' is not a field of a new run')
        end
        if args[i] ~= 'run' then
            set[#set + 1] = args[i]
            set[#set + 1] = args[i + 1]
        end
    end
    redis.call('HSET', meta, unpack(set))
    redis.call('ZADD', runs, created, run)
    return 1
end

local function bs_run_note(keys, args)
    local meta, run, op, field, value = keys[1], args[1], args[2], args[3], args[4]
    if not run or meta ~= KEY.meta(run) or not field or (op ~= 'del' and not value) then
        return redis.error_reply('bs_run_note: usage 1 bs:{RUN}:meta RUN set|del|incr FIELD [VALUE]')
    end
    if not NOTE_FIELDS[field:match('^[^:]+')] then
        return redis.error_reply('bs_run_note: ' .. field .. ' is not a field to note on a run')
    end
    if redis.call('HEXISTS', meta, 'run') == 0 then
        return redis.error_reply('run ' .. run .. ' does not exist')
    end
    if op == 'set' then
        redis.call('HSET', meta, field, value)
    elseif op == 'del' then
        redis.call('HDEL', meta, field)
    elseif op == 'incr' and tonumber(value) then
        redis.call('HINCRBY', meta, field, value)
    else
        return redis.error_reply('bs_run_note: ' .. op .. ' ' .. tostring(value) ..
            ' is not set, del or incr N')
    end
    return 1
end

redis.register_function('bs_apply', bs_apply)
redis.register_function('bs_run_create', bs_run_create)
redis.register_function('bs_run_note', bs_run_note)
redis.register_function{
    function_name = 'bs_version',
    callback = function() return BS_LIB_VERSION end,
    flags = {'no-writes'},
}
