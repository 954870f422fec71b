/**
 * GCRA for several limits at once, atomically in Redis: a request is allowed only if every limit
 * allows it, and only then are their TATs advanced. Time is Redis's own (TIME), so nodes with
 * skewed clocks share one view. KEYS: one per limit; ARGV: per limit, interval ms and tolerance ms.
 * Returns, per limit: allowed (0/1), remaining, retry-after ms, reset ms.
 */
export const GCRA_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local n = #KEYS
local starts = {}
local ok = true
for i = 1, n do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  local start = math.max(tat, now)
  starts[i] = start
  if start - now > tolerance then ok = false end
end
local out = {}
for i = 1, n do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local start = starts[i]
  if ok then
    local nxt = start + interval
    redis.call('SET', KEYS[i], tostring(nxt), 'PX', math.max(1, math.ceil(nxt - now)))
    out[#out + 1] = 1
    out[#out + 1] = math.max(0, math.floor((now + tolerance - nxt) / interval) + 1)
    out[#out + 1] = 0
    out[#out + 1] = math.ceil(nxt - now)
  else
    local late = start - now - tolerance
    out[#out + 1] = late > 0 and 0 or 1
    out[#out + 1] = 0
    out[#out + 1] = math.max(0, math.ceil(late))
    out[#out + 1] = math.ceil(start - now)
  end
end
return out`

/**
 * The settle of synced limits (RATE_LIMIT_SYNC_MS): adds what a node allowed to each shared TAT.
 * KEYS: one per limit key; ARGV: per key, the time its requests take (count × interval, ms).
 * Returns, per key, how far past Redis's now the shared TAT is (ms, as text: it is fractional).
 */
export const SETTLE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local out = {}
for i = 1, #KEYS do
  local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or now), now) + tonumber(ARGV[i])
  redis.call('SET', KEYS[i], tostring(tat), 'PX', math.max(1, math.ceil(tat - now)))
  out[i] = tostring(tat - now)
end
return out`
