-- GET Patients by id, each request one of IDS (comma-separated, from the environment) at random:
-- reads of many patients, where read.lua reads one.
local ids = {}
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  for id in string.gmatch(os.getenv("IDS") or "", "[^,]+") do
    table.insert(ids, id)
  end
end
request = function()
  local id = ids[math.random(1, #ids)]
  return wrk.format("GET", "/fhir/r4/Patient/" .. id, {["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")})
end
