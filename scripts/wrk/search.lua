-- Search Patients by family name, a page of 20 (FAMILY from the environment matches more than 20).
request = function()
  return wrk.format("GET", "/fhir/r4/Patient?family=" .. os.getenv("FAMILY") .. "&_count=20", {["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")})
end
