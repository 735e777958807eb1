"""A real FHIR client nobody here wrote (fhirpy, synchronous API) against a running Tianshan.

usage: python fhirpy_client.py BASE_URL TOKEN ORG_CODE
Exits 0 when every step worked; prints what it checked.
"""
import sys
import uuid

from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound


def main(base, token, org):
    c = SyncFHIRClient(base, authorization=f"Bearer {token}")

    cap = c.execute("metadata", method="get")
    types = {r["type"] for r in cap["rest"][0]["resource"]}
    assert {"Patient", "Practitioner", "Organization", "Location"} <= types, types
    print("capability statement:", sorted(types))

    family = "Fhirpy" + uuid.uuid4().hex[:8]
    made = []
    for i in range(7):
        p = c.resource(
            "Patient",
            name=[{"family": family, "given": [f"Given{i}"]}],
            gender="female" if i % 2 else "male",
            birthDate=f"2015-0{1 + i}-15",
            managingOrganization={"reference": f"Organization/{org}"},
        )
        p.save()
        assert p.id, "create gave no id"
        made.append(p.id)
    print("created", len(made), "patients")

    again = c.reference("Patient", made[0]).to_resource()
    assert again["name"][0]["family"] == family
    print("read back", made[0])

    search = c.resources("Patient").search(family=family)
    assert search.count() == 7, search.count()
    page = search.limit(3).fetch()
    assert len(page) == 3, len(page)
    everyone = search.limit(3).fetch_all()
    assert sorted(p.id for p in everyone) == sorted(made), "paging lost or doubled patients"
    print("search by family: count 7, pages of 3 give all 7")

    by_name = c.resources("Patient").search(name=family).limit(50).fetch_all()
    assert len(by_name) == 7, len(by_name)

    try:
        c.resources("Patient").search(shoe_size="42").fetch()
        raise AssertionError("an unknown search parameter was accepted")
    except OperationOutcome:
        print("unknown search parameter refused with an OperationOutcome")

    try:
        c.reference("Patient", "no-such-patient-" + uuid.uuid4().hex).to_resource()
        raise AssertionError("an unknown id was found")
    except ResourceNotFound:
        print("unknown id: 404")

    tx_family = "Tx" + uuid.uuid4().hex[:8]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": tx_family, "given": [f"T{i}"]}],
                    "gender": "male",
                    "birthDate": "2012-05-05",
                    "managingOrganization": {"reference": f"Organization/{org}"},
                },
                "request": {"method": "POST", "url": "Patient"},
            }
            for i in range(3)
        ],
    }
    resp = c.execute("", method="post", data=bundle)
    assert resp["type"] == "transaction-response", resp
    assert all(e["response"]["status"].startswith("201") for e in resp["entry"]), resp
    assert c.resources("Patient").search(family=tx_family).count() == 3
    print("transaction Bundle: 3 created")

    bad = dict(bundle)
    bad["entry"] = bundle["entry"][:1] + [
        {"resource": {"resourceType": "Patient", "gender": "sometimes"}, "request": {"method": "POST", "url": "Patient"}}
    ]
    bad["entry"][0]["resource"]["name"] = [{"family": tx_family + "Bad", "given": ["X"]}]
    try:
        c.execute("", method="post", data=bad)
        raise AssertionError("a transaction with a bad entry was accepted")
    except OperationOutcome:
        pass
    assert c.resources("Patient").search(family=tx_family + "Bad").count() == 0
    print("transaction with a bad entry: refused, nothing written")
    print("OK")


if __name__ == "__main__":
    main(*sys.argv[1:4])
