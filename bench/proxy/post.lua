-- The seed's authenticated MobileSync request (curl -d @request.xml -u ...).
wrk.method = "POST"
wrk.headers["Host"] = "autodiscover.company.tld"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic dGVzdHVzZXJAY29tcGFueS50bGQ6dGVzdHBhc3N3b3Jk"
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*a"):gsub("[\r\n]", "")
f:close()

-- Answers with a status of 400 or more (wrk counts them as errors), so a
-- run that measures failures is seen. No response() hook: it would make
-- wrk parse every answer in Lua.
function done(summary, latency, requests)
  io.write(string.format("status errors: %d\n", summary.errors.status))
end
