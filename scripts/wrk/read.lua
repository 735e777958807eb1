-- GET one Patient by id (ID from the environment).
request = function()
  return wrk.format("GET", "/fhir/r4/Patient/" .. os.getenv("ID"), {["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")})
end
