-- wrk script of bench/webhook_ingest.py: every request a distinct, pre-signed webhook.
--
-- BENCH_WRK_REQUESTS names a file of requests, one a line: webhook-id, webhook-timestamp,
-- webhook-signature and the body, tab-separated. Thread k of BENCH_WRK_THREADS sends lines
-- k, k + threads, k + 2 * threads, ... in order, each once, so no id is sent twice; from every
-- 2xx answer it keeps the stored event's number ({"id": N, ...}). done() writes what each
-- thread sent and got, and wrk's figures, as JSON to BENCH_WRK_OUT.

local threads = {}

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function init(args)
  local thread_count = tonumber(os.getenv("BENCH_WRK_THREADS"))
  prepared, sent, statuses, stored, exhausted = {}, 0, {}, {}, false
  local line_number = 0
  for line in io.lines(os.getenv("BENCH_WRK_REQUESTS")) do
    if line_number % thread_count == thread_number then
      local event_id, timestamp, signature, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {
        ["Content-Type"] = "application/json",
        ["webhook-id"] = event_id,
        ["webhook-timestamp"] = timestamp,
        ["webhook-signature"] = signature,
      }
      table.insert(prepared, wrk.format("POST", nil, headers, body))
    end
    line_number = line_number + 1
  end
end

function request()
  if sent == #prepared then
    -- Out of requests: the figures would be wrong, so the script says so and stops.
    exhausted = true
    wrk.thread:stop()
    return prepared[#prepared]
  end
  sent = sent + 1
  return prepared[sent]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status < 300 then
    table.insert(stored, tonumber(body:match('"id":%s*(%d+)')) or -1)
  end
end

function done(summary, latency, requests)
  local parts = {}
  for _, thread in ipairs(threads) do
    local counts = {}
    for status, count in pairs(thread:get("statuses")) do
      table.insert(counts, string.format('"%d": %d', status, count))
    end
    table.insert(parts, string.format(
      '{"number": %d, "sent": %d, "exhausted": %s, "statuses": {%s}, "stored": [%s]}',
      thread:get("thread_number"), thread:get("sent"), tostring(thread:get("exhausted")),
      table.concat(counts, ", "), table.concat(thread:get("stored"), ",")
    ))
  end
  local errors = summary.errors
  local out = io.open(os.getenv("BENCH_WRK_OUT"), "w")
  out:write(string.format(
    '{"duration_us": %d, "requests": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}, "threads": [%s]}',
    summary.duration, summary.requests, errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    table.concat(parts, ", ")
  ))
  out:close()
end
