#!lua name=bootstorm
-- Redis Function library of bootstorm: bs_apply stores one launcher event into its
-- run's keys (redis/SCHEMA.md) atomically and idempotently per (run, host, seq).
-- Not for hello/heartbeat (the collector writes the host registry) nor for queries.
--
--   FCALL bs_apply 1 bs:{RUN}:meta HOST SEQ TYPE K1 V1 K2 V2 ...
--   -> 1 applied, 0 duplicate (SEQ <= last applied seq of HOST in RUN)
--   FCALL_RO bs_version 0 -> BS_LIB_VERSION

local BS_LIB_VERSION = 3

-- Exact order of two decimal strings of non-negative integers without leading zeros:
-- tm/tr values exceed 2^53 and would lose precision as Lua numbers.
local function ucmp(a, b)
    if #a ~= #b then return #a < #b and -1 or 1 end
    if a == b then return 0 end
    return a < b and -1 or 1
end

local function hset_if(key, field, v, better)
    local cur = redis.call('HGET', key, field)
    if not cur or better(v, cur) then redis.call('HSET', key, field, v) end
end
local function lt(a, b) return ucmp(a, b) < 0 end
local function gt(a, b) return ucmp(a, b) > 0 end
local function nlt(a, b) return tonumber(a) < tonumber(b) end
local function ngt(a, b) return tonumber(a) > tonumber(b) end

-- Milliseconds with up to 6 decimals and no trailing zeros ("1234.5").
local function fmt_ms(x)
    local s = string.format('%.6f', x):gsub('0+$', ''):gsub('%.$', '')
    return s
end
local function ms(ns) return fmt_ms(tonumber(ns) / 1e6) end

-- Optional fields are always sent; empty strings and zero sizes mean "not known".
local function hset_opt(key, field, v)
    if v and v ~= '' and v ~= '0' then redis.call('HSET', key, field, v) end
end

-- Counters and extremes go to the run's agg hash and to the host's (bs:{RUN}:hagg:HOST);
-- sorted sets of durations to the run's (NAME) and the host's (h:HOST:NAME) copy.
local function incr(k, host, field, n)
    redis.call('HINCRBY', k.agg, field, n)
    redis.call('HINCRBY', k.pfx .. 'hagg:' .. host, field, n)
end
local function both_if(k, host, field, v, better)
    hset_if(k.agg, field, v, better)
    hset_if(k.pfx .. 'hagg:' .. host, field, v, better)
end
local function zadd2(k, host, name, score, member)
    redis.call('ZADD', k.pfx .. name, score, member)
    redis.call('ZADD', k.pfx .. 'h:' .. host .. ':' .. name, score, member)
end
-- A phase duration (ms) between two tm of one guest; phases are listed in bs:{RUN}:phases.
local function phase(k, host, m, name, t0, t1)
    if not t0 or not t1 then return end
    local d = tonumber(t1) - tonumber(t0)
    if d < 0 then return end
    redis.call('SADD', k.pfx .. 'phases', name)
    zadd2(k, host, 'ph:' .. name, fmt_ms(d / 1e6), m)
end
-- Power-of-two bucket of the guests already running at spawn: 0, 1, 2, 4, 8, ...
local function bucket(n)
    n = tonumber(n) or 0
    local b = 1
    if n < 1 then return 0 end
    while b * 2 <= n do b = b * 2 end
    return b
end
-- Ready guests alive now, per host and per run, with a timeline entry per change.
local function up(k, host, gk, delta, f)
    redis.call('HSET', gk, 'up', delta > 0 and 1 or 0)
    local n = redis.call('HINCRBY', k.agg, 'up:' .. host, delta)
    local all = redis.call('HINCRBY', k.agg, 'up', delta)
    redis.call('XADD', k.pfx .. 'upc', '*', 'host', host, 'tm', f.tm, 'tr', f.tr or '0',
        'n', n, 'all', all)
end
-- Member of a guest's boot in the zsets: HOST:IDX, and HOST:IDX#GEN once restarted.
local function member(g, gk)
    local gen = redis.call('HGET', gk, 'gen')
    return (gen and gen ~= '0') and (g .. '#' .. gen) or g
end

-- One entry per event type: the fields it needs ('i' decimal integer, 's' string)
-- and what it changes. k holds the run's key names, g the guest id, f the fields.
local H = {}

H.run_start = {
    need = {tr = 'i', accel = 's', kind = 's', backend = 's', pattern = 's', count = 'i', timeout_s = 'i'},
    apply = function(k, host, f)
        redis.call('HSET', k.meta, 'accel:' .. host, f.accel, 'start_tr:' .. host, f.tr)
        if f.kvm then redis.call('HSET', k.meta, 'kvm:' .. host, f.kvm) end
        if f.prio then redis.call('HSET', k.meta, 'prio:' .. host, f.prio) end
        hset_opt(k.meta, 'mem_base_kib:' .. host, f.mem_used_kib)
        redis.call('HINCRBY', k.meta, 'hosts_started', 1)
        -- a run not started through the collector still gets its scenario described
        redis.call('HSETNX', k.meta, 'run', k.run)
        for _, n in ipairs({'kind', 'backend', 'pattern', 'count', 'interval_ms', 'hold_s', 'timeout_s',
                'concurrency', 'restart_after_ms', 'restart_permille', 'trace'}) do
            if f[n] then redis.call('HSETNX', k.meta, n, f[n]) end
        end
    end,
}

H.spawn = {
    need = {tm = 'i', tr = 'i', guest = 'i', running = 'i'},
    apply = function(k, host, f, g, gk)
        if redis.call('HEXISTS', gk, 'spawn_tm') == 1 then
            -- a restart of this guest: a new generation; the old one is down now
            if redis.call('HGET', gk, 'up') == '1' then up(k, host, gk, -1, f) end
            redis.call('HINCRBY', gk, 'gen', 1)
            redis.call('HDEL', gk, 'spawned_tm', 'first_output_tm', 'ready_tm', 'boot_ns',
                'reason', 'failed_tm', 'exit_status', 'exit_tm', 'pid', 'detail')
            incr(k, host, 'respawned', 1)
        end
        redis.call('HSET', gk, 'host', host, 'idx', f.guest, 'state', 'spawning', 'spawn_tm', f.tm,
            'spawn_tr', f.tr, 'running', f.running)
        incr(k, host, 'spawned', 1)
        hset_if(k.agg, 'first_spawn_tm:' .. host, f.tm, lt)
        hset_if(k.agg, 'first_spawn_tr', f.tr, lt)
        if f.lag_ns and redis.call('HGET', k.meta, 'pattern') == 'interval' then
            redis.call('HSET', gk, 'lag_ns', f.lag_ns)
            zadd2(k, host, 'lag', ms(f.lag_ns), member(g, gk))
        end
    end,
}

H.spawned = {
    need = {tm = 'i', guest = 'i', pid = 'i'},
    apply = function(k, host, f, g, gk)
        redis.call('HSET', gk, 'pid', f.pid, 'spawned_tm', f.tm)
        hset_opt(gk, 'spawn_ns', f.spawn_ns)
        local st = redis.call('HGET', gk, 'state')
        if not st or st == 'spawning' then redis.call('HSET', gk, 'state', 'running') end
        phase(k, host, member(g, gk), 'spawned', redis.call('HGET', gk, 'spawn_tm'), f.tm)
    end,
}

H.first_output = {
    need = {tm = 'i', guest = 'i'},
    apply = function(k, host, f, g, gk)
        if redis.call('HSETNX', gk, 'first_output_tm', f.tm) == 1 then
            local t0 = redis.call('HGET', gk, 'spawned_tm') or redis.call('HGET', gk, 'spawn_tm')
            phase(k, host, member(g, gk), 'first_output', t0, f.tm)
        end
    end,
}

H.marker = {
    need = {tm = 'i', guest = 'i', name = 's'},
    apply = function(k, host, f, g, gk)
        if redis.call('HSETNX', gk, 'm:' .. f.name, f.tm) == 1 then
            phase(k, host, member(g, gk), 'm:' .. f.name, redis.call('HGET', gk, 'spawn_tm'), f.tm)
        end
    end,
}

H.ready = {
    need = {tm = 'i', tr = 'i', guest = 'i', boot_ns = 'i'},
    apply = function(k, host, f, g, gk)
        local b = ms(f.boot_ns)
        local m = member(g, gk)
        redis.call('HSET', gk, 'state', 'ready', 'ready_tm', f.tm, 'boot_ns', f.boot_ns)
        zadd2(k, host, 'boot', b, m)
        incr(k, host, 'ready', 1)
        both_if(k, host, 'boot_min_ms', b, nlt)
        both_if(k, host, 'boot_max_ms', b, ngt)
        -- summed in decimal ms rounded to 6 places: exact for inputs of whole ns
        for _, key in ipairs({k.agg, k.pfx .. 'hagg:' .. host}) do
            local sum = redis.call('HGET', key, 'boot_sum_ms') or '0'
            redis.call('HSET', key, 'boot_sum_ms', fmt_ms(tonumber(sum) + tonumber(b)))
        end
        hset_if(k.agg, 'last_ready_tm:' .. host, f.tm, gt)
        hset_if(k.agg, 'last_ready_tr', f.tr, gt)
        phase(k, host, m, 'ready', redis.call('HGET', gk, 'first_output_tm'), f.tm)
        -- boot time against guests already running at spawn
        local bk = bucket(redis.call('HGET', gk, 'running'))
        redis.call('HINCRBY', k.pfx .. 'byrun', bk .. ':n', 1)
        local s = redis.call('HGET', k.pfx .. 'byrun', bk .. ':sum_ms') or '0'
        redis.call('HSET', k.pfx .. 'byrun', bk .. ':sum_ms', fmt_ms(tonumber(s) + tonumber(b)))
        hset_if(k.pfx .. 'byrun', bk .. ':max_ms', b, ngt)
        -- ready per second since the host's first spawn
        local t0 = redis.call('HGET', k.agg, 'first_spawn_tm:' .. host)
        if t0 then
            local sec = math.floor((tonumber(f.tm) - tonumber(t0)) / 1e9)
            redis.call('HINCRBY', k.pfx .. 'rps', sec, 1)
        end
        up(k, host, gk, 1, f)
    end,
}

-- A guest that was up and goes away (exit, failure) lowers the ready-count curve.
local function down(k, host, gk, f)
    if redis.call('HGET', gk, 'up') == '1' then up(k, host, gk, -1, f) end
end

H.exit = {
    need = {tm = 'i', guest = 'i', status = 'i'},
    apply = function(k, host, f, g, gk)
        redis.call('HSET', gk, 'exit_status', f.status, 'exit_tm', f.tm)
        hset_opt(gk, 'rss_kib', f.rss_kib)
        hset_opt(gk, 'cpu_ms', f.cpu_ms)
        hset_opt(gk, 'ram_kib', f.ram_kib)
        hset_opt(gk, 'detail', f.detail)
        local st = redis.call('HGET', gk, 'state')
        if st ~= 'ready' and st ~= 'failed' then redis.call('HSET', gk, 'state', 'exited') end
        incr(k, host, 'exited', 1)
        down(k, host, gk, f)
    end,
}

H.failed = {
    need = {tm = 'i', guest = 'i', reason = 's'},
    apply = function(k, host, f, g, gk)
        redis.call('HSET', gk, 'state', 'failed', 'reason', f.reason, 'failed_tm', f.tm)
        hset_opt(gk, 'rss_kib', f.rss_kib)
        hset_opt(gk, 'cpu_ms', f.cpu_ms)
        hset_opt(gk, 'detail', f.detail)
        incr(k, host, 'failed', 1)
        incr(k, host, 'failed:' .. f.reason, 1)
        down(k, host, gk, f)
    end,
}

H.mem = {
    need = {tm = 'i', tr = 'i', mem_used_kib = 'i', rss_kib = 'i', running = 'i'},
    apply = function(k, host, f)
        redis.call('XADD', k.pfx .. 'mem:' .. host, '*', 'tm', f.tm, 'tr', f.tr,
            'used_kib', f.mem_used_kib, 'rss_kib', f.rss_kib, 'running', f.running,
            'pss_kib', f.pss_kib or '0', 'guest_cpu_ms', f.guest_cpu_ms or '0')
        both_if(k, host, 'peak_mem_kib', f.mem_used_kib, gt)
        hset_if(k.agg, 'peak_mem_kib:' .. host, f.mem_used_kib, gt)
        hset_if(k.agg, 'peak_rss_kib:' .. host, f.rss_kib, gt)
        if f.pss_kib and f.pss_kib ~= '0' then hset_if(k.agg, 'peak_pss_kib:' .. host, f.pss_kib, gt) end
    end,
}

H.run_end = {
    need = {tr = 'i', ready = 'i', failed = 'i'},
    apply = function(k, host, f)
        redis.call('HSET', k.meta, 'end_tr:' .. host, f.tr)
        if f.cpu_ms then redis.call('HSET', k.meta, 'cpu_ms:' .. host, f.cpu_ms) end
        hset_opt(k.meta, 'rss_kib:' .. host, f.rss_kib)
        hset_opt(k.meta, 'error:' .. host, f.error)
        redis.call('HINCRBY', k.meta, 'hosts_done', 1)
    end,
}

-- trace mode: console lines go to their own stream, not into ev (they would swamp it)
H.line = {
    need = {tm = 'i', guest = 'i', text = 's'},
    raw = false,
    apply = function(k, host, f, g)
        redis.call('XADD', k.pfx .. 'lines', '*', 'guest', g, 'tm', f.tm, 'text', f.text)
    end,
}

H.restart = {
    need = {tm = 'i', tr = 'i', count = 'i'},
    apply = function(k, host, f)
        redis.call('HSET', k.meta, 'restart_tm:' .. host, f.tm)
        hset_if(k.meta, 'restart_tr', f.tr, lt)
        redis.call('HINCRBY', k.meta, 'restart_count:' .. host, f.count)
        redis.call('HINCRBY', k.meta, 'restart_count', f.count)
        incr(k, host, 'restarts', 1)
    end,
}

-- A type this library does not know yet (a newer launcher) is kept raw in ev and
-- counted, never refused: an error would stop that launcher's acks for good.
local UNKNOWN = {need = {}, apply = function(k, host, f, g, gk, typ)
    redis.call('HINCRBY', k.agg, 'unknown:' .. typ, 1)
end}

-- Everything is checked before the first write: a script error never leaves half an event.
local function bs_apply(keys, args)
    local run = keys[1] and keys[1]:match('^bs:{([^{}]+)}:meta$')
    if not run then return redis.error_reply('bs_apply: KEYS[1] must be bs:{RUN}:meta') end
    local host, seq, typ = args[1], args[2], args[3]
    if not typ or not typ:match('^[%w_]+$') or #typ > 32 then
        return redis.error_reply('bs_apply: bad event type ' .. tostring(typ))
    end
    local h = H[typ] or UNKNOWN
    if not host or host == '' or not seq or not seq:match('^[1-9]%d*$') or #args % 2 ~= 1 then
        return redis.error_reply('bs_apply: usage HOST SEQ TYPE [K V]...')
    end
    local f = {}
    for i = 4, #args, 2 do f[args[i]] = args[i + 1] end
    for n, t in pairs(h.need) do
        if not f[n] or (t == 'i' and not f[n]:match('^%-?%d+$')) then
            return redis.error_reply('bs_apply: ' .. typ .. ': field ' .. n .. ' missing or not an integer')
        end
    end
    if f.guest and not f.guest:match('^%d+$') then
        return redis.error_reply('bs_apply: guest must be a non-negative integer')
    end

    local pfx = 'bs:{' .. run .. '}:'
    local k = {run = run, pfx = pfx, meta = keys[1], seq = pfx .. 'seq', ev = pfx .. 'ev',
        boot = pfx .. 'boot', lag = pfx .. 'lag', agg = pfx .. 'agg'}
    local last = redis.call('HGET', k.seq, host)
    if last and ucmp(seq, last) <= 0 then return 0 end
    -- `prev` chains a host's events of the run: one whose predecessor is not stored yet
    -- (it failed earlier in the same pipeline, say while Redis was loading) must not be
    -- applied, or the predecessor would later look like a duplicate and be lost.
    if f.prev and f.prev ~= '0' and f.prev ~= (last or '0') then
        return redis.error_reply('GAP ' .. host .. ' seq ' .. seq .. ' follows ' .. f.prev ..
            ' but the last stored is ' .. (last or 'none'))
    end

    if h.raw ~= false then
        local raw = {'type', typ, 'host', host, 'seq', seq}
        for i = 4, #args do raw[#raw + 1] = args[i] end
        redis.call('XADD', k.ev, '*', unpack(raw))
    end
    local g = f.guest and (host .. ':' .. f.guest)
    h.apply(k, host, f, g, g and (pfx .. 'guest:' .. g), typ)
    redis.call('HSET', k.seq, host, seq)
    return 1
end

redis.register_function('bs_apply', bs_apply)
redis.register_function{
    function_name = 'bs_version',
    callback = function() return BS_LIB_VERSION end,
    flags = {'no-writes'},
}
