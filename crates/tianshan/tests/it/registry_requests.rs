//! Records held elsewhere (流动人口, moved-in children): a township nurse asks, by ID number,
//! for a record registered in another county to be transferred or shared; the coordinator who
//! owns it approves or refuses; both sides audited. Also the duplicate messages on the form and
//! sharing from the patient page (list, confirm, revoke). The nurse's whole path in Chromium at
//! phone width is the browser test at the end.
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{audit_for, TestApp};

/// A child in a Shule county village (another county than the nurse's township), with an ID
/// number (demo data: i = 3).
const SHULE_CHILD: &str = "demo-0004";
/// An adult in Opal village, the other township of the nurse's county.
const OPAL_ADULT: &str = "demo-0003";
/// 张三, in the nurse's own township.
const OWN_PATIENT: &str = "demo-0001";
const NURSE_VILLAGE: &str = "653121100201";

/// A resident ID number with its check character (GB 11643).
fn resident_id(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!("{first17}{}", C[(sum % 11) as usize])
}

async fn get_json(client: &reqwest::Client, url: String) -> (u16, Value) {
    let r = client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post_json(client: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let r = client.post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A patient as the coordinator (whole region) reads it.
async fn patient(app: &TestApp, id: &str) -> Value {
    let (s, body) = get_json(
        &app.api("coordinator").await,
        app.url(&format!("/api/v1/patients/{id}")),
    )
    .await;
    assert_eq!(s, 200, "{id}");
    body
}

async fn ask(app: &TestApp, user: &str, body: Value) -> (u16, Value) {
    post_json(
        &app.api(user).await,
        app.url("/api/v1/patient-requests"),
        body,
    )
    .await
}

async fn decide(app: &TestApp, user: &str, id: &str, verb: &str, note: &str) -> (u16, Value) {
    post_json(
        &app.api(user).await,
        app.url(&format!("/api/v1/patient-requests/{id}/{verb}")),
        json!({ "note": note }),
    )
    .await
}

fn actions(entries: &[(String, String, String)], user: &str) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.0 == user)
        .map(|e| e.1.clone())
        .collect()
}

/// Transfer: a mother and her child registered in Shule county (by the administrator, as the
/// county would); the child moves to the nurse's village. The nurse cannot register or see
/// the child, asks, the region's coordinator approves, and the nurse then reads and edits the
/// record, keeping the link to the mother whose record stayed in Shule.
async fn transfer_approved_then_nurse_sees_and_edits(app: &TestApp) {
    let admin = app.api("admin").await;
    let mother_idn = resident_id("65312219950302124");
    let child_idn = resident_id("65312220210410123");
    let (s, mother) = post_json(
        &admin,
        app.url("/api/v1/patients"),
        json!({"family_name": "阿", "given_name": "依古丽", "sex": "female", "id_number": mother_idn,
               "org_code": "653122100201", "ethnicity": "05"}),
    )
    .await;
    assert_eq!(s, 201, "{mother}");
    let mother_id = mother["patient"]["id"].as_str().unwrap().to_string();
    let child_body = json!({"family_name": "阿", "given_name": "里木", "sex": "male", "id_number": child_idn,
           "org_code": "653122100201", "ethnicity": "05",
           "guardians": [{"name": "阿依古丽", "relationship": "mother", "patient_id": mother_id}]});
    let (s, child) = post_json(&admin, app.url("/api/v1/patients"), child_body).await;
    assert_eq!(s, 201, "{child}");
    let child_id = child["patient"]["id"].as_str().unwrap().to_string();

    let nurse = app.api("nurse").await;
    let (s, _) = get_json(&nurse, app.url(&format!("/api/v1/patients/{child_id}"))).await;
    assert_eq!(s, 404, "the nurse cannot see the child");
    // Registering the child again is refused, plainly, with the way forward and nothing more.
    let mut again = json!({"family_name": "阿", "given_name": "里木", "sex": "male", "id_number": child_idn,
                           "org_code": NURSE_VILLAGE});
    let (s, body) = post_json(&nurse, app.url("/api/v1/patients"), again.clone()).await;
    assert_eq!(s, 409);
    let cand = &body["error"]["candidates"][0];
    assert_eq!(cand["kind"], "same_id_number");
    assert_eq!(cand["elsewhere"], true);
    assert!(cand["id"].is_null() && cand["full_name"].is_null());
    assert_eq!(body["error"]["request"]["href"], "/api/v1/patient-requests");
    assert_eq!(body["error"]["request"]["id_number"], child_idn.as_str());
    assert!(!body.to_string().contains(&child_id));
    // Confirming "someone else" does not apply to one ID number.
    let (s, _) = post_json(
        &nurse,
        app.url("/api/v1/patients?confirm_not_duplicate=true"),
        again.take(),
    )
    .await;
    assert_eq!(s, 409);

    // The nurse asks for a transfer to her village.
    let (s, req) = ask(
        app,
        "nurse",
        json!({"id_number": child_idn.to_lowercase(), "kind": "transfer", "org_code": NURSE_VILLAGE,
               "reason": "The family moved to Ayagh Menggen in May; the child is vaccinated here now."}),
    )
    .await;
    assert_eq!(s, 201, "{req}");
    let rid = req["id"].as_str().unwrap().to_string();
    assert_eq!(req["status"], "pending");
    assert_eq!(req["id_number"], child_idn.as_str());
    assert!(req["patient"].is_null() && req["from_org_code"].is_null());
    let text = req.to_string();
    assert!(
        !text.contains(&child_id) && !text.contains("里木") && !text.contains("653122100201"),
        "the requester learns nothing of the record: {text}"
    );
    let (s, _) = ask(
        app,
        "nurse",
        json!({"id_number": child_idn, "kind": "transfer", "org_code": NURSE_VILLAGE, "reason": "again"}),
    )
    .await;
    assert_eq!(
        s, 409,
        "one pending request per record, organisation and kind"
    );

    // The coordinator sees the pair: the record and who asks for it.
    let coord = app.api("coordinator").await;
    let (s, list) = get_json(&coord, app.url("/api/v1/patient-requests?side=incoming")).await;
    assert_eq!(s, 200);
    let item = list["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == rid.as_str())
        .expect("the request is in the coordinator's list")
        .clone();
    assert_eq!(item["patient"]["id"], child_id.as_str());
    assert_eq!(item["patient"]["full_name"], "阿里木");
    assert_eq!(item["from_org_code"], "653122100201");
    assert_eq!(item["org_code"], NURSE_VILLAGE);
    assert_eq!(item["requested_by"], "nurse");
    assert_eq!(item["can_decide"], true);

    let (s, done) = decide(app, "coordinator", &rid, "approve", "Welcome to Tokkuzak.").await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["status"], "approved");
    assert_eq!(done["patient"]["org_code"], NURSE_VILLAGE);
    let (s, _) = decide(app, "coordinator", &rid, "refuse", "changed my mind").await;
    assert_eq!(s, 409, "a decided request stays decided");

    // The nurse sees the outcome and, now, the record; she edits it like her own.
    let (s, mine) = get_json(&nurse, app.url(&format!("/api/v1/patient-requests/{rid}"))).await;
    assert_eq!(s, 200);
    assert_eq!(mine["status"], "approved");
    assert_eq!(mine["patient"]["id"], child_id.as_str());
    assert_eq!(mine["note"], "Welcome to Tokkuzak.");
    assert!(mine["decided_by"].is_null());
    let (s, rec) = get_json(&nurse, app.url(&format!("/api/v1/patients/{child_id}"))).await;
    assert_eq!(s, 200);
    assert_eq!(rec["patient"]["org_code"], NURSE_VILLAGE);
    let p = &rec["patient"];
    let upd = json!({"family_name": p["family_name"], "given_name": p["given_name"], "sex": p["sex"],
        "birth_date": p["birth_date"], "id_number": p["id_number"], "ethnicity": p["ethnicity"],
        "org_code": p["org_code"], "phone": "13900005555", "version": p["version"],
        "guardians": [{"name": "阿依古丽", "relationship": "mother", "patient_id": mother_id}]});
    let r = nurse
        .put(app.url(&format!("/api/v1/patients/{child_id}")))
        .json(&upd)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the link to the mother left in Shule does not stop the edit: {}",
        r.text().await.unwrap()
    );
    let (_, found) = get_json(
        &nurse,
        app.url(&format!("/api/v1/patients?id_number={child_idn}")),
    )
    .await;
    assert_eq!(found["patients"][0]["id"], child_id.as_str());

    // Both sides audited, the move with the decision.
    let entries = audit_for(app, &child_id).await;
    let by_nurse = actions(&entries, "nurse");
    let by_coord = actions(&entries, "coordinator");
    assert!(by_nurse.contains(&"patient.request".into()), "{entries:?}");
    assert!(by_nurse.contains(&"update".into()));
    assert!(by_coord.contains(&"patient.request.approve".into()));
    assert!(by_coord.contains(&"patient.move".into()));
}
both!(transfer_approved_then_nurse_sees_and_edits);

/// Refusal: the nurse asks for a share of a record in the other township; the coordinator
/// refuses (a note is required). The nurse sees "refused" and the note, and nothing of the
/// record. She may ask again, and withdraw.
async fn refused_request_reveals_nothing(app: &TestApp) {
    let rec = patient(app, OPAL_ADULT).await;
    let idn = rec["patient"]["id_number"].as_str().unwrap().to_string();
    let name = rec["patient"]["full_name"].as_str().unwrap().to_string();
    let (s, req) = ask(
        app,
        "nurse",
        json!({"id_number": idn, "kind": "share", "reason": "Came to our health centre for a check-up."}),
    )
    .await;
    assert_eq!(s, 201, "{req}");
    let rid = req["id"].as_str().unwrap().to_string();
    assert_eq!(
        req["org_code"], "653121100",
        "default: the nurse's own township"
    );

    let (s, body) = decide(app, "coordinator", &rid, "refuse", "  ").await;
    assert_eq!(s, 422, "a refusal needs a note: {body}");
    assert_eq!(body["error"]["fields"][0]["field"], "note");
    let (s, body) = decide(
        app,
        "coordinator",
        &rid,
        "refuse",
        "Please ask the family to bring the child's vaccination booklet.",
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(body["status"], "refused");

    let nurse = app.api("nurse").await;
    let (_, mine) = get_json(&nurse, app.url(&format!("/api/v1/patient-requests/{rid}"))).await;
    assert_eq!(mine["status"], "refused");
    assert!(mine["note"].as_str().unwrap().contains("booklet"));
    let (_, list) = get_json(&nurse, app.url("/api/v1/patient-requests")).await;
    for text in [mine.to_string(), list.to_string()] {
        assert!(
            !text.contains(OPAL_ADULT)
                && !text.contains(&name)
                && !text.contains("653121101201")
                && !text.contains("coordinator\""),
            "the requester learns nothing more: {text}"
        );
    }
    let (s, _) = get_json(&nurse, app.url(&format!("/api/v1/patients/{OPAL_ADULT}"))).await;
    assert_eq!(s, 404);
    let (_, found) = get_json(
        &nurse,
        app.url(&format!("/api/v1/patients?id_number={idn}")),
    )
    .await;
    assert_eq!(found["patients"].as_array().unwrap().len(), 0);
    // The request page in the browser says the same.
    let page = app
        .browser("nurse")
        .await
        .get(&format!("/patient-requests/{rid}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("已拒绝") && page.contains("booklet"));
    assert!(!page.contains(OPAL_ADULT) && !page.contains(&name) && !page.contains("decide-form"));

    // Asked again, then withdrawn: a withdrawn request cannot be approved.
    let (s, again) = ask(
        app,
        "nurse",
        json!({"id_number": idn, "kind": "share", "reason": "The booklet is here now."}),
    )
    .await;
    assert_eq!(s, 201);
    let rid2 = again["id"].as_str().unwrap().to_string();
    let (s, w) = post_json(
        &nurse,
        app.url(&format!("/api/v1/patient-requests/{rid2}/withdraw")),
        json!({}),
    )
    .await;
    assert_eq!((s, w["status"].as_str()), (200, Some("withdrawn")));
    let (s, _) = decide(app, "coordinator", &rid2, "approve", "").await;
    assert_eq!(s, 409);
    let entries = audit_for(app, OPAL_ADULT).await;
    assert!(actions(&entries, "coordinator").contains(&"patient.request.refuse".into()));
    assert!(actions(&entries, "nurse").contains(&"patient.request.withdraw".into()));
    assert!(!actions(&entries, "coordinator").contains(&"patient.share".into()));
}
both!(refused_request_reveals_nothing);

/// Share: approved, the nurse's township reads the record but cannot change it; the owner's
/// list of shares names it.
async fn share_request_approved(app: &TestApp) {
    let rec = patient(app, OPAL_ADULT).await;
    let idn = rec["patient"]["id_number"].as_str().unwrap().to_string();
    let (s, req) = ask(
        app,
        "nurse",
        json!({"id_number": idn, "kind": "share", "reason": "Treated here during the cotton harvest."}),
    )
    .await;
    assert_eq!(s, 201);
    let rid = req["id"].as_str().unwrap().to_string();
    let (s, done) = decide(app, "coordinator", &rid, "approve", "").await;
    assert_eq!((s, done["status"].as_str()), (200, Some("approved")));

    let nurse = app.api("nurse").await;
    let (s, rec) = get_json(&nurse, app.url(&format!("/api/v1/patients/{OPAL_ADULT}"))).await;
    assert_eq!(s, 200);
    let p = &rec["patient"];
    let upd = json!({"family_name": p["family_name"], "given_name": p["given_name"], "sex": p["sex"],
        "birth_date": p["birth_date"], "id_number": p["id_number"], "org_code": p["org_code"], "phone": "13900006666"});
    let r = nurse
        .put(app.url(&format!("/api/v1/patients/{OPAL_ADULT}")))
        .json(&upd)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a share grants reading only");
    let (_, shares) = get_json(
        &app.api("coordinator").await,
        app.url(&format!("/api/v1/patients/{OPAL_ADULT}/shares")),
    )
    .await;
    let share = shares["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["org_code"] == "653121100")
        .expect("shared with the nurse's township")
        .clone();
    assert_eq!(share["shared_by"], "coordinator");
    assert_eq!(share["shared_by_name"], "王志强");
    // Already shared: asking again is refused; a transfer may still be asked for.
    let (s, body) = ask(
        app,
        "nurse",
        json!({"id_number": idn, "kind": "share", "reason": "again"}),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "id_number");
    let (s, _) = ask(
        app,
        "nurse",
        json!({"id_number": idn, "kind": "transfer", "reason": "They stay for good."}),
    )
    .await;
    assert_eq!(s, 201);
    let entries = audit_for(app, OPAL_ADULT).await;
    assert!(actions(&entries, "coordinator").contains(&"patient.share".into()));
    assert!(actions(&entries, "coordinator").contains(&"patient.request.approve".into()));
}
both!(share_request_approved);

/// Only the requester and a coordinator whose own subtree holds the record see a request; only
/// such a coordinator decides. Everyone else: 403 without the permission, 404 otherwise.
async fn requests_are_refused_outside_their_two_sides(app: &TestApp) {
    use tianshan_platform::users::{create_user, By, NewUser};
    for (username, role, scope) in [
        ("hami_coord", "coordinator", "650500"),
        ("opal_nurse", "nurse", "653121101"),
    ] {
        create_user(
            &app.db,
            &tianshan_platform::clock::Clock::system(),
            By::Cli,
            NewUser {
                username,
                password: "tianshan-test",
                roles: vec![role.to_string()],
                scope_code: Some(scope),
                display_name: username,
                locale: "en",
            },
        )
        .await
        .unwrap();
    }
    let idn = patient(app, SHULE_CHILD).await["patient"]["id_number"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, req) = ask(
        app,
        "nurse",
        json!({"id_number": idn, "kind": "transfer", "reason": "Moved in."}),
    )
    .await;
    assert_eq!(s, 201);
    let rid = req["id"].as_str().unwrap().to_string();
    let one = format!("/api/v1/patient-requests/{rid}");
    for (user, read, approve) in [
        // A coordinator of another prefecture: as if it did not exist.
        ("hami_coord", 404, 404),
        // The prefecture's doctor owns the record but does not decide requests.
        ("doctor", 404, 403),
        // The requester cannot approve her own request.
        ("nurse", 200, 403),
        // A nurse of the other township: none of her business.
        ("opal_nurse", 404, 403),
        // No right to ask nor to decide.
        ("official", 403, 403),
    ] {
        let client = app.api(user).await;
        let (s, _) = get_json(&client, app.url(&one)).await;
        assert_eq!(s, read, "{user} reads the request");
        let (s, _) = decide(app, user, &rid, "approve", "").await;
        assert_eq!(s, approve, "{user} approves the request");
    }
    let (s, list) = get_json(
        &app.api("hami_coord").await,
        app.url("/api/v1/patient-requests?side=incoming"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(!list.to_string().contains(&rid));
    let (s, _) = get_json(
        &app.api("official").await,
        app.url("/api/v1/patient-requests"),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = post_json(
        &app.api("opal_nurse").await,
        app.url(&format!("{one}/withdraw")),
        json!({}),
    )
    .await;
    assert_eq!(s, 404, "only the requester withdraws");
    let (s, _) = ask(
        app,
        "partner",
        json!({"id_number": idn, "kind": "share", "reason": "x"}),
    )
    .await;
    assert_eq!(s, 403, "partners register no patients and ask for none");
    let (s, _) = get_json(
        &app.api("coordinator").await,
        app.url("/api/v1/patient-requests/no-such-request"),
    )
    .await;
    assert_eq!(s, 404);
    // What the nurse may not ask for, and why.
    let own = patient(app, OWN_PATIENT).await["patient"]["id_number"]
        .as_str()
        .unwrap()
        .to_string();
    for (body, field, key_text) in [
        (
            json!({"id_number": own, "kind": "transfer", "reason": "x"}),
            "id_number",
            "已在您的辖区内登记",
        ),
        (
            json!({"id_number": resident_id("65312220200101001"), "kind": "transfer", "reason": "x"}),
            "id_number",
            "没有该身份证号的档案",
        ),
        (
            json!({"id_number": "653122202001010011", "kind": "transfer", "reason": "x"}),
            "id_number",
            "最后一位",
        ),
        (
            json!({"id_number": idn, "kind": "transfer", "org_code": "653122100201", "reason": "x"}),
            "org_code",
            "不在您的",
        ),
        (
            json!({"id_number": idn, "kind": "steal", "reason": ""}),
            "kind",
            "转入或共享",
        ),
    ] {
        let (s, b) = ask(app, "nurse", body.clone()).await;
        assert_eq!(s, 422, "{body}: {b}");
        let f = &b["error"]["fields"][0];
        assert_eq!(f["field"], field, "{b}");
        assert!(
            f["message"].as_str().unwrap().contains(key_text),
            "{body}: {b}"
        );
    }
    let entries = audit_for(app, SHULE_CHILD).await;
    assert!(
        entries
            .iter()
            .any(|e| e.0 == "hami_coord" && e.1 == "refused"),
        "{entries:?}"
    );
}
both!(requests_are_refused_outside_their_two_sides);

/// The registration form on a same-ID duplicate: says plainly one ID is one person, offers
/// the record (in scope) or the request (elsewhere), never the "someone else" checkbox; that
/// checkbox stays for the name + birth date + village rule.
async fn duplicate_messages_on_the_form(app: &TestApp) {
    let nurse = app.browser("nurse").await;
    let own = patient(app, OWN_PATIENT).await["patient"]["id_number"]
        .as_str()
        .unwrap()
        .to_string();
    let child = patient(app, SHULE_CHILD).await;
    let child_idn = child["patient"]["id_number"].as_str().unwrap().to_string();
    let child_name = child["patient"]["full_name"].as_str().unwrap().to_string();
    let child_sex = child["patient"]["sex"].as_str().unwrap().to_string();
    // The sex agrees with the ID number: only the duplicate stops the registration.
    let form = |idn: &str, sex: &str, confirm: bool| {
        let mut f = vec![
            ("family_name".to_string(), "王".to_string()),
            ("given_name".to_string(), "小兰".to_string()),
            ("sex".to_string(), sex.to_string()),
            ("birth_date".to_string(), "".to_string()),
            ("id_number".to_string(), idn.to_string()),
            ("org_code".to_string(), NURSE_VILLAGE.to_string()),
        ];
        if confirm {
            f.push(("confirm_new".into(), "1".into()));
        }
        f
    };
    for confirm in [false, true] {
        let fields = form(&own, "male", confirm);
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let r = nurse.post_form("/patients/new", &refs).await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("一个身份证号只对应一个人"), "plain words");
        assert!(html.contains(&format!(
            "id=\"open-existing\" href=\"/patients/{OWN_PATIENT}\""
        )));
        assert!(
            !html.contains("name=\"confirm_new\""),
            "no override for one ID"
        );
        assert!(!html.contains("ask-record"));
    }
    let fields = form(&child_idn, &child_sex, true);
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let r = nurse.post_form("/patients/new", &refs).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    let href = format!("/patient-requests/new?id_number={child_idn}");
    assert!(html.contains("一个身份证号只对应一个人") && html.contains("网络中其他地方"));
    assert!(
        html.contains(&format!("id=\"ask-record\" href=\"{href}\"")),
        "{html}"
    );
    assert!(!html.contains("name=\"confirm_new\""));
    assert!(!html.contains(SHULE_CHILD) && !html.contains(&child_name));
    let page = nurse.get(&href).await.text().await.unwrap();
    assert!(
        page.contains(&format!("value=\"{child_idn}\"")),
        "the ID number is filled in"
    );
    assert!(page.contains("value=\"transfer\" id=\"kind-transfer\" checked"));
    // The name + birth date + village rule keeps its checkbox.
    let zs = patient(app, OWN_PATIENT).await;
    let p = &zs["patient"];
    let probable = [
        ("family_name", "张"),
        ("given_name", "三"),
        ("sex", "male"),
        ("birth_date", p["birth_date"].as_str().unwrap()),
        ("org_code", p["org_code"].as_str().unwrap()),
    ];
    let html = nurse
        .post_form("/patients/new", &probable)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"confirm_new\"") && html.contains(OWN_PATIENT));
    assert!(!html.contains("一个身份证号只对应一个人"));
    // The API says the same for a same-ID record in scope: here it is, not registered again.
    let api = app.api("nurse").await;
    for q in ["", "?confirm_not_duplicate=true"] {
        let (s, body) = post_json(
            &api,
            app.url(&format!("/api/v1/patients{q}")),
            json!({"family_name": "王", "given_name": "小兰", "sex": "male", "id_number": own, "org_code": NURSE_VILLAGE}),
        )
        .await;
        assert_eq!(s, 409);
        assert_eq!(body["error"]["candidates"][0]["id"], OWN_PATIENT);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("该档案在您的辖区内"));
        assert!(body["error"]["request"].is_null());
    }
}
both!(duplicate_messages_on_the_form);

/// Sharing from the patient page: the list of shares (organisation, who, when), a choice with
/// nothing preselected, a confirmation naming the organisation and what sharing means, and the
/// owner's "stop sharing". Readers through a share get none of it.
async fn sharing_is_listed_confirmed_and_revoked(app: &TestApp) {
    let nurse = app.browser("nurse").await;
    // demo-0002 is shared with the Beijing rear hospital by the demo loader.
    let page = nurse.get("/patients/demo-0002").await.text().await.unwrap();
    assert!(page.contains("id=\"shares\"") && page.contains("北京协和医院"));
    assert!(page.contains("id=\"unshare-RH-BJ-PUMCH\""));
    let page = nurse
        .get(&format!("/patients/{OWN_PATIENT}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("此档案未共享给其他机构"));
    let form = &page[page.find("id=\"share-form\"").unwrap()..];
    let form = &form[..form.find("</form>").unwrap()];
    assert!(form.contains("required><option value=\"\">请选择机构…</option>"));
    assert!(!form.contains("selected"), "nothing preselected");
    assert!(form.contains("RH-GD-GDPH") && form.contains("INT-KG-NH"));
    // The second step names the organisation and says what sharing means; nothing is shared yet.
    let confirm = nurse
        .get(&format!(
            "/patients/{OWN_PATIENT}/share?org_code=RH-GD-GDPH"
        ))
        .await;
    assert_eq!(confirm.status(), 200);
    let confirm = confirm.text().await.unwrap();
    assert!(confirm.contains("将 张三 的档案共享给 广东省人民医院？"));
    assert!(confirm.contains("不能修改或转共享") && confirm.contains("id=\"confirm-share\""));
    assert!(!confirm.contains("境外"));
    let abroad = nurse
        .get(&format!("/patients/{OWN_PATIENT}/share?org_code=INT-KG-NH"))
        .await
        .text()
        .await
        .unwrap();
    assert!(abroad.contains("该医院位于境外"));
    let api = app.api("nurse").await;
    let shares_url = app.url(&format!("/api/v1/patients/{OWN_PATIENT}/shares"));
    let (_, shares) = get_json(&api, shares_url.clone()).await;
    assert_eq!(shares["shares"].as_array().unwrap().len(), 0);
    assert_eq!(
        nurse
            .get(&format!("/patients/{OWN_PATIENT}/share?org_code="))
            .await
            .status(),
        422
    );
    // Confirmed: shared, listed with who and when; then revoked.
    let r = nurse
        .post_form(
            &format!("/patients/{OWN_PATIENT}/share"),
            &[("org_code", "RH-GD-GDPH")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let page = nurse.get(&loc).await.text().await.unwrap();
    assert!(page.contains("已共享给 广东省人民医院。"));
    let list = &page[page.find("id=\"shares\"").unwrap()..];
    assert!(list.contains("广东省人民医院") && list.contains("古丽娜尔·买买提"));
    let (_, shares) = get_json(&api, shares_url.clone()).await;
    assert_eq!(shares["shares"][0]["org_code"], "RH-GD-GDPH");
    let r = nurse
        .post_form(
            &format!("/patients/{OWN_PATIENT}/unshare"),
            &[("org_code", "RH-GD-GDPH")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = nurse
        .get(r.headers()["location"].to_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("已取消与 广东省人民医院 的共享。")
            && page.contains("此档案未共享给其他机构")
    );
    let entries = audit_for(app, OWN_PATIENT).await;
    let mine = actions(&entries, "nurse");
    assert!(mine.contains(&"patient.share".into()) && mine.contains(&"patient.unshare".into()));
    // The Beijing expert reads demo-0002 through its share: no sharing controls, no sharing.
    let expert = app.browser("expert").await;
    let page = expert
        .get("/patients/demo-0002")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("patient-name") && !page.contains("id=\"shares\""));
    assert!(!page.contains("/edit\""));
    assert_eq!(
        expert
            .get("/patients/demo-0002/share?org_code=INT-KG-NH")
            .await
            .status(),
        404
    );
}
both!(sharing_is_listed_confirmed_and_revoked);

/// Another module (the vaccination clinic's moved-in child) raises the request through the
/// registry's facade and follows it until the record is its to see.
async fn a_module_asks_through_the_facade(app: &TestApp) {
    use tianshan_platform::auth::{identity_by_username, Channel, Principal};
    use tianshan_registry::facade::{self, RequestKind, RequestStatus};
    let id = identity_by_username(&app.db, "nurse")
        .await
        .unwrap()
        .unwrap();
    let nurse = Principal::from_identity(&id, Channel::Web, "", "test");
    let idn = patient(app, SHULE_CHILD).await["patient"]["id_number"]
        .as_str()
        .unwrap()
        .to_string();
    let err = facade::request_patient(&app.st, &nurse, &idn, RequestKind::Share, None, " ")
        .await
        .unwrap_err();
    assert!(
        matches!(err, tianshan_platform::AppError::Invalid(_)),
        "a reason is required"
    );
    let asked = facade::request_patient(
        &app.st,
        &nurse,
        &idn,
        RequestKind::Share,
        None,
        "Moved-in child: first visit at the Tokkuzak vaccination clinic.",
    )
    .await
    .unwrap();
    assert_eq!(asked.status, RequestStatus::Pending);
    assert_eq!(asked.org_code, "653121100");
    assert_eq!(asked.patient_id, None);
    let (s, _) = decide(app, "coordinator", &asked.id, "approve", "").await;
    assert_eq!(s, 200);
    let now = facade::patient_request(&app.st, &nurse, &asked.id)
        .await
        .unwrap();
    assert_eq!(now.status, RequestStatus::Approved);
    assert_eq!(now.patient_id.as_deref(), Some(SHULE_CHILD));
    let child = facade::patient(&app.st, &nurse, SHULE_CHILD).await.unwrap();
    assert_eq!(child.id_number.as_deref(), Some(idn.as_str()));
}
both!(a_module_asks_through_the_facade);

/// The nurse's path in Chromium at phone width (390 px): the refusal on the registration form,
/// the request, the coordinator's approval in a second browser session, the nurse opening the
/// record; then every registry page at 390 px, none wider than the screen. Screenshots in
/// `target/screenshots/`.
mod browser {

    use std::path::{Path, PathBuf};

    use std::time::Duration;

    use fantoccini::elements::Element;
    use fantoccini::{Client, ClientBuilder, Locator};
    use serde_json::json;

    use crate::helpers::{demo_password, spawn_app, Backend};

    const CHROMIUM: &str = "/usr/bin/chromium";
    const WAIT: Duration = Duration::from_secs(20);
    const PHONE_WIDTH: i64 = 390;

    use crate::browser::Chromedriver;

    /// A phone-sized browser session (its own profile: its own cookies).
    async fn phone(driver: &Chromedriver, profile: &Path) -> Client {
        let args = [
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-quic".to_string(),
            "--no-first-run".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({ "goog:chromeOptions": { "binary": CHROMIUM, "args": args,
            "mobileEmulation": { "deviceMetrics": { "width": PHONE_WIDTH, "height": 844, "pixelRatio": 1.0 } } } });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::native()
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("Chromium did not start through chromedriver: {e}"))
    }

    fn screenshot_dir() -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        dir
    }

    async fn shot(c: &Client, name: &str) {
        let png = c.screenshot().await.unwrap();
        let path = screenshot_dir().join(name);
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// The page fits the phone: nothing wider than the screen.
    async fn fits(c: &Client, what: &str) {
        let v = c
            .execute(
                "return [window.innerWidth, document.documentElement.scrollWidth, \
                 Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5).join(' ')]",
                vec![],
            )
            .await
            .unwrap();
        let inner = v[0].as_i64().unwrap();
        let scroll = v[1].as_i64().unwrap();
        assert_eq!(inner, PHONE_WIDTH, "the browser is phone-sized");
        assert!(
            scroll <= inner,
            "{what} is {scroll} px wide on a {inner} px screen; too wide: {}",
            v[2]
        );
    }

    async fn find(c: &Client, css: &str) -> Element {
        c.find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    async fn type_into(c: &Client, css: &str, text: &str) {
        find(c, css).await.send_keys(text).await.unwrap();
    }

    async fn click(c: &Client, css: &str) {
        find(c, css).await.click().await.unwrap();
    }

    /// Only the element or the deadline ends the wait: a find that races the page's navigation
    /// (Chromium's "aborted by navigation", seen once in CI) is tried again.
    async fn wait_for(c: &Client, css: &str, expected: &str) -> Element {
        let until = std::time::Instant::now() + WAIT;
        loop {
            match c.find(Locator::Css(css)).await {
                Ok(e) => return e,
                Err(e) if std::time::Instant::now() >= until => {
                    panic!("expected {expected} ({css}): {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn sign_in(c: &Client, base: &str, user: &str) {
        c.goto(&format!("{base}/login")).await.unwrap();
        type_into(c, "#username", user).await;
        type_into(c, "#password", demo_password(user)).await;
        click(c, "#signin").await;
        wait_for(c, "header .who", "signed in").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nurse_asks_for_a_moved_in_child_and_opens_it_once_approved() {
        let driver = Chromedriver::start().await;
        let app = spawn_app(Backend::Sqlite).await;
        let child: serde_json::Value = app
            .api("coordinator")
            .await
            .get(app.url(&format!("/api/v1/patients/{}", super::SHULE_CHILD)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let child = &child["patient"];
        let text = |k: &str| child[k].as_str().unwrap().to_string();
        let (p1, p2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let nurse = phone(&driver, p1.path()).await;
        let coord = phone(&driver, p2.path()).await;
        let scenario = tokio::spawn(scenario(
            nurse.clone(),
            coord.clone(),
            app.base.clone(),
            [text("id_number"), text("full_name"), text("sex")],
        ))
        .await;
        if scenario.is_err() {
            for (c, name) in [
                (&nurse, "requests-failure-nurse.png"),
                (&coord, "requests-failure-coordinator.png"),
            ] {
                if let Ok(png) = c.screenshot().await {
                    let _ = std::fs::write(screenshot_dir().join(name), png);
                }
            }
        }
        let _ = nurse.close().await;
        let _ = coord.close().await;
        drop(driver);
        if let Err(e) = scenario {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    async fn scenario(n: Client, c: Client, base: String, child: [String; 3]) {
        let [child_idn, child_name, child_sex] = child;
        sign_in(&n, &base, "nurse").await;
        // The child's family moved in: the nurse registers the child and is told it exists
        // elsewhere, with the way forward.
        n.goto(&format!("{base}/patients/new")).await.unwrap();
        type_into(&n, "#family_name", "阿").await;
        type_into(&n, "#given_name", "小明").await;
        type_into(&n, "#id_number", &child_idn).await;
        find(&n, "#sex")
            .await
            .select_by_value(&child_sex)
            .await
            .unwrap();
        click(&n, "#save").await;
        let ask = wait_for(&n, "#ask-record", "the way forward on the refusal").await;
        let notice = find(&n, "#duplicates").await.text().await.unwrap();
        assert!(notice.contains("一个身份证号只对应一个人"), "{notice}");
        assert!(!notice.contains(&child_name));
        assert!(
            n.find(Locator::Css("#confirm_new")).await.is_err(),
            "no override for one ID"
        );
        fits(&n, "the refused registration").await;
        shot(&n, "request-1-refusal-390.png").await;
        ask.click().await.unwrap();
        let idn = wait_for(&n, "#request-form #id_number", "the request form").await;
        assert_eq!(
            idn.prop("value").await.unwrap().as_deref(),
            Some(child_idn.as_str())
        );
        find(&n, "#org_code")
            .await
            .select_by_value(super::NURSE_VILLAGE)
            .await
            .unwrap();
        type_into(&n, "#reason", "全家五月迁入阿亚格曼干村，孩子在本村接种。").await;
        fits(&n, "the request form").await;
        shot(&n, "request-2-form-390.png").await;
        click(&n, "#send-request").await;
        wait_for(&n, "#notice", "the request sent").await;
        let status = find(&n, "#request-status").await.text().await.unwrap();
        assert!(status.contains("待处理"), "{status}");
        assert!(!n.source().await.unwrap().contains(&child_name));
        let request_url = n.current_url().await.unwrap();
        fits(&n, "the request sent").await;
        shot(&n, "request-3-sent-390.png").await;

        // The coordinator, in another session, finds it, compares and approves.
        sign_in(&c, &base, "coordinator").await;
        click(&c, "label.nav-toggle").await;
        let nav = wait_for(
            &c,
            "nav.side a[href='/patient-requests']",
            "the requests menu item",
        )
        .await;
        nav.click().await.unwrap();
        let incoming = wait_for(&c, "#incoming", "incoming requests").await;
        assert!(incoming.text().await.unwrap().contains(&child_name));
        fits(&c, "the coordinator's requests").await;
        shot(&c, "request-4-incoming-390.png").await;
        incoming
            .find(Locator::Css("a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let record = wait_for(&c, "#request-record", "the record beside the request").await;
        assert!(record.text().await.unwrap().contains(&child_name));
        type_into(&c, "#note", "欢迎，档案已转入。").await;
        fits(&c, "the request to decide").await;
        shot(&c, "request-5-decide-390.png").await;
        click(&c, "#approve").await;
        wait_for(&c, "#notice", "the decision saved").await;
        let status = find(&c, "#request-status").await.text().await.unwrap();
        assert!(status.contains("已批准"), "{status}");

        // The nurse reloads her request: approved, and the record opens.
        n.goto(request_url.as_str()).await.unwrap();
        let open = wait_for(&n, "#open-record", "the record link once approved").await;
        assert!(open.text().await.unwrap().contains(&child_name));
        fits(&n, "the approved request").await;
        shot(&n, "request-6-approved-390.png").await;
        open.click().await.unwrap();
        let h1 = wait_for(&n, "h1#patient-name", "the child's page").await;
        assert!(h1.text().await.unwrap().contains(&child_name));
        fits(&n, "the transferred record").await;
        shot(&n, "request-7-record-390.png").await;

        // Every registry page at phone width.
        for (client, path, name) in [
            (&n, "/patients?q=zs", "phone-patients-search.png"),
            (&n, "/patients/demo-0002", "phone-patient-shares.png"),
            (
                &n,
                "/patients/demo-0001/share?org_code=INT-KG-NH",
                "phone-share-confirm.png",
            ),
            (&n, "/patients/demo-0001/edit", "phone-patient-edit.png"),
            (&n, "/patients/new", "phone-patient-new.png"),
            (&n, "/patient-requests", "phone-requests-nurse.png"),
            (&n, "/practitioners", "phone-practitioners.png"),
            (&n, "/practitioners/pr-0001", "phone-practitioner.png"),
            (&n, "/orgs?code=653121100", "phone-orgs.png"),
            (&c, "/patient-requests", "phone-requests-coordinator.png"),
            (&c, "/orgs?q=医院", "phone-orgs-search.png"),
        ] {
            client.goto(&format!("{base}{path}")).await.unwrap();
            wait_for(client, "main h1", path).await;
            fits(client, path).await;
            shot(client, name).await;
        }
        // The same in Uyghur, right to left.
        n.goto(&format!("{base}/patients/demo-0002?lang=ug"))
            .await
            .unwrap();
        wait_for(&n, "html[dir='rtl'] h1#patient-name", "the page in Uyghur").await;
        fits(&n, "the patient page in Uyghur").await;
        shot(&n, "phone-patient-shares-ug.png").await;
    }
}
