#!lua name=bootstorm
-- Redis Function library of bootstorm: bs_apply stores one launcher event into its
-- run's keys (redis/SCHEMA.md) atomically and idempotently per (run, host, seq).
-- Not for hello/heartbeat (the collector writes the host registry) nor for queries.
--
--   FCALL bs_apply 1 bs:{RUN}:meta HOST SEQ TYPE K1 V1 K2 V2 ...
--   -> 1 applied, 0 duplicate (SEQ <= last applied seq of HOST in RUN)
--   FCALL_RO bs_version 0 -> BS_LIB_VERSION

local BS_LIB_VERSION = 1

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
        for _, n in ipairs({'kind', 'backend', 'pattern', 'count', 'interval_ms', 'hold_s', 'timeout_s'}) do
            if f[n] then redis.call('HSETNX', k.meta, n, f[n]) end
        end
    end,
}

H.spawn = {
    need = {tm = 'i', tr = 'i', guest = 'i', running = 'i'},
    apply = function(k, host, f, g, gk)
        redis.call('HSET', gk, 'host', host, 'idx', f.guest, 'state', 'spawning', 'spawn_tm', f.tm,
            'spawn_tr', f.tr, 'running', f.running)
        redis.call('HINCRBY', k.agg, 'spawned', 1)
        hset_if(k.agg, 'first_spawn_tm:' .. host, f.tm, lt)
        hset_if(k.agg, 'first_spawn_tr', f.tr, lt)
        if f.lag_ns and redis.call('HGET', k.meta, 'pattern') == 'interval' then
            redis.call('HSET', gk, 'lag_ns', f.lag_ns)
            redis.call('ZADD', k.lag, ms(f.lag_ns), g)
        end
    end,
}

H.spawned = {
    need = {tm = 'i', guest = 'i', pid = 'i'},
    apply = function(k, host, f, g, gk)
        redis.call('HSET', gk, 'pid', f.pid, 'spawned_tm', f.tm)
        local st = redis.call('HGET', gk, 'state')
        if not st or st == 'spawning' then redis.call('HSET', gk, 'state', 'running') end
    end,
}

H.first_output = {
    need = {tm = 'i', guest = 'i'},
    apply = function(k, host, f, g, gk) redis.call('HSETNX', gk, 'first_output_tm', f.tm) end,
}

H.marker = {
    need = {tm = 'i', guest = 'i', name = 's'},
    apply = function(k, host, f, g, gk) redis.call('HSETNX', gk, 'm:' .. f.name, f.tm) end,
}

H.ready = {
    need = {tm = 'i', tr = 'i', guest = 'i', boot_ns = 'i'},
    apply = function(k, host, f, g, gk)
        local b = ms(f.boot_ns)
        redis.call('HSET', gk, 'state', 'ready', 'ready_tm', f.tm, 'boot_ns', f.boot_ns)
        redis.call('ZADD', k.boot, b, g)
        redis.call('HINCRBY', k.agg, 'ready', 1)
        hset_if(k.agg, 'boot_min_ms', b, nlt)
        hset_if(k.agg, 'boot_max_ms', b, ngt)
        -- summed in decimal ms rounded to 6 places: exact for inputs of whole ns
        local sum = redis.call('HGET', k.agg, 'boot_sum_ms') or '0'
        redis.call('HSET', k.agg, 'boot_sum_ms', fmt_ms(tonumber(sum) + tonumber(b)))
        hset_if(k.agg, 'last_ready_tm:' .. host, f.tm, gt)
        hset_if(k.agg, 'last_ready_tr', f.tr, gt)
    end,
}

H.exit = {
    need = {tm = 'i', guest = 'i', status = 'i'},
    apply = function(k, host, f, g, gk)
        redis.call('HSET', gk, 'exit_status', f.status, 'exit_tm', f.tm)
        hset_opt(gk, 'rss_kib', f.rss_kib)
        hset_opt(gk, 'detail', f.detail)
        local st = redis.call('HGET', gk, 'state')
        if st ~= 'ready' and st ~= 'failed' then redis.call('HSET', gk, 'state', 'exited') end
        redis.call('HINCRBY', k.agg, 'exited', 1)
    end,
}

H.failed = {
    need = {tm = 'i', guest = 'i', reason = 's'},
    apply = function(k, host, f, g, gk)
        redis.call('HSET', gk, 'state', 'failed', 'reason', f.reason, 'failed_tm', f.tm)
        hset_opt(gk, 'rss_kib', f.rss_kib)
        hset_opt(gk, 'detail', f.detail)
        redis.call('HINCRBY', k.agg, 'failed', 1)
        redis.call('HINCRBY', k.agg, 'failed:' .. f.reason, 1)
    end,
}

H.mem = {
    need = {tm = 'i', tr = 'i', mem_used_kib = 'i', rss_kib = 'i', running = 'i'},
    apply = function(k, host, f)
        redis.call('XADD', k.pfx .. 'mem:' .. host, '*', 'tm', f.tm, 'tr', f.tr,
            'used_kib', f.mem_used_kib, 'rss_kib', f.rss_kib, 'running', f.running)
        hset_if(k.agg, 'peak_mem_kib:' .. host, f.mem_used_kib, gt)
        hset_if(k.agg, 'peak_mem_kib', f.mem_used_kib, gt)
        hset_if(k.agg, 'peak_rss_kib:' .. host, f.rss_kib, gt)
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

-- Everything is checked before the first write: a script error never leaves half an event.
local function bs_apply(keys, args)
    local run = keys[1] and keys[1]:match('^bs:{([^{}]+)}:meta$')
    if not run then return redis.error_reply('bs_apply: KEYS[1] must be bs:{RUN}:meta') end
    local host, seq, typ = args[1], args[2], args[3]
    local h = typ and H[typ]
    if not h then return redis.error_reply('bs_apply: unknown event type ' .. tostring(typ)) end
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

    local raw = {'type', typ, 'host', host, 'seq', seq}
    for i = 4, #args do raw[#raw + 1] = args[i] end
    redis.call('XADD', k.ev, '*', unpack(raw))
    local g = f.guest and (host .. ':' .. f.guest)
    h.apply(k, host, f, g, g and (pfx .. 'guest:' .. g))
    redis.call('HSET', k.seq, host, seq)
    return 1
end

redis.register_function('bs_apply', bs_apply)
redis.register_function{
    function_name = 'bs_version',
    callback = function() return BS_LIB_VERSION end,
    flags = {'no-writes'},
}
