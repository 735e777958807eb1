-- 80 % reads and searches (half each), 20 % creates.
local n = 0
local prefix = ""
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  prefix = tostring(math.random(1, 1000000000))
end
request = function()
  n = n + 1
  local auth = {["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or ""), ["Content-Type"] = "application/fhir+json"}
  local r = math.random(1, 10)
  if r <= 2 then
    local body = '{"resourceType":"Patient","name":[{"family":"M' .. prefix .. 'x' .. n .. '","given":["Given"]}],"gender":"male","birthDate":"2018-05-06","managingOrganization":{"reference":"Organization/' .. (os.getenv("ORG") or "") .. '"}}'
    return wrk.format("POST", "/fhir/r4/Patient", auth, body)
  elseif r <= 6 then
    return wrk.format("GET", "/fhir/r4/Patient/" .. os.getenv("ID"), auth)
  else
    return wrk.format("GET", "/fhir/r4/Patient?family=" .. os.getenv("FAMILY") .. "&_count=20", auth)
  end
end
