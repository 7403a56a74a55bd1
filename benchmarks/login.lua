-- wrk script for the login scenarios: every request is `POST /api/auth/login` with the JSON body
-- given after the URL (`wrk -s benchmarks/login.lua <url> -- '<json>'`); run.py passes the
-- credentials of the user it seeded.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
   if args[1] == nil then
      error("login.lua needs the JSON body as its first argument (after --)")
   end
   wrk.body = args[1]
end
