-- wrk script: POST pre-signed Shopify webhook bodies, each with a unique X-Shopify-Event-Id.
-- Usage: wrk -s bench/webhook.lua URL -- BODIES_FILE RUN_NAME THREADS FIRST_BODY
-- BODIES_FILE holds one "signature<TAB>body" per line (signed by bench/webhooks.py, since
-- wrk's Lua has no HMAC). Threads take interleaved bodies so no two send the same one.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  bodies, sigs = {}, {}
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    sigs[#sigs + 1] = line:sub(1, tab - 1)
    bodies[#bodies + 1] = line:sub(tab + 1)
  end
  run = args[2] or "run"
  total = tonumber(args[3] or "1")
  -- Start past the bodies earlier runs sent, so that each delivery is a newer level.
  counter = math.floor(tonumber(args[4] or "0") / total)
end

function request()
  local i = (tid + counter * total) % #bodies + 1
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-Shopify-Topic"] = "inventory_levels/update",
    ["X-Shopify-Hmac-Sha256"] = sigs[i],
    ["X-Shopify-Shop-Domain"] = "demo.myshopify.com",
    ["X-Shopify-API-Version"] = "2026-10",
    ["X-Shopify-Event-Id"] = run .. "-" .. tid .. "-" .. counter,
    ["X-Shopify-Webhook-Id"] = run .. "-w-" .. tid .. "-" .. counter,
  }
  return wrk.format("POST", nil, headers, bodies[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
