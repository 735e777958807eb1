-- Search Patients by family name, a page of 20 (FAMILY from the environment matches more than 20).
-- TOTAL=accurate asks for the number of matches as well (`_total`, a second query).
local total = os.getenv("TOTAL")
local extra = (total and total ~= "") and ("&_total=" .. total) or ""
request = function()
  return wrk.format("GET", "/fhir/r4/Patient?family=" .. os.getenv("FAMILY") .. "&_count=20" .. extra, {["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")})
end
