-- wrk script: GET a random id in 1..10000 (run put.lua first, so they all
-- exist: then every answer is a 200).
--   wrk -t2 -c64 -d10s -s apps/rest/wrk/get.lua http://127.0.0.1:8080
math.randomseed(7)

request = function()
   return wrk.format("GET", "/stuff/" .. math.random(1, 10000))
end
