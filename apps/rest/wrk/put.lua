-- wrk script: PUT a small JSON document, cycling through ids 1..10000, so
-- the first pass creates (201) and later ones replace (200).
--   wrk -t2 -c64 -d10s -s apps/rest/wrk/put.lua http://127.0.0.1:8080
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name": "tulipa", "tags": ["asyncio", "rust"], "n": 42}'

local id = 0

request = function()
   id = id % 10000 + 1
   return wrk.format(nil, "/stuff/" .. id)
end
