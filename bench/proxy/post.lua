-- The seed's authenticated MobileSync request (curl -d @request.xml -u ...).
wrk.method = "POST"
wrk.headers["Host"] = "autodiscover.company.tld"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic dGVzdHVzZXJAY29tcGFueS50bGQ6dGVzdHBhc3N3b3Jk"
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*a"):gsub("[\r\n]", "")
f:close()

-- Count answers that are not 200, so a run that measures errors is seen.
local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("non-200: %d\n", summary.errors.status))
end
