-- POST a FHIR Patient with a name unique across threads and runs (TOKEN, ORG from the environment).
local n = 0
local prefix = ""
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  prefix = tostring(math.random(1, 1000000000))
end
request = function()
  n = n + 1
  local body = '{"resourceType":"Patient","name":[{"family":"F' .. prefix .. 'x' .. n .. '","given":["Given"]}],"gender":"female","birthDate":"2019-03-04","managingOrganization":{"reference":"Organization/' .. (os.getenv("ORG") or "") .. '"}}'
  return wrk.format("POST", "/fhir/r4/Patient", {["Content-Type"] = "application/fhir+json", ["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")}, body)
end
