-- wrk script for the redirect scenarios: every request is `GET /s/b<6 digits>` of a code drawn
-- uniformly from the first N seeded links (`wrk -s benchmarks/redirect.lua <base url> -- N`).
-- benchmarks/seed_links.py seeds the codes b000000, b000001, ...

function init(args)
   if args[1] == nil then
      error("redirect.lua needs the number of links to draw from as its first argument (after --)")
   end
   links = tonumber(args[1])
   math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
   return wrk.format("GET", string.format("/s/b%06d", math.random(0, links - 1)))
end
