//! The vaccination module's tables (migrations 400–499). Quantities are doses (BIGINT);
//! temperatures are tenths of a degree Celsius; dates `YYYY-MM-DD`; times RFC 3339 UTC text.
use tianshan_platform::migrate::Migration;

const CORE: &str = r#"
CREATE TABLE vaccination_products (
    code TEXT PRIMARY KEY,
    name_en TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    cvx BIGINT NOT NULL,
    route TEXT NOT NULL DEFAULT 'IM',
    live BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE vaccination_devices (
    id TEXT PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs(code),
    org_path TEXT COLLATE BINARY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    min_tenths BIGINT NOT NULL,
    max_tenths BIGINT NOT NULL,
    excursion_minutes BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok',
    created_at TEXT NOT NULL
);
CREATE INDEX vaccination_devices_org ON vaccination_devices(org_path);
CREATE TABLE vaccination_lots (
    id TEXT PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs(code),
    org_path TEXT COLLATE BINARY NOT NULL,
    product_code TEXT NOT NULL REFERENCES vaccination_products(code),
    lot_no TEXT NOT NULL,
    manufacturer TEXT NOT NULL DEFAULT '',
    expiry TEXT NOT NULL,
    doses_per_vial BIGINT NOT NULL DEFAULT 1,
    device_id TEXT REFERENCES vaccination_devices(id),
    quantity BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    status_reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_code, product_code, lot_no)
);
CREATE INDEX vaccination_lots_org ON vaccination_lots(org_path);
CREATE INDEX vaccination_lots_lotno ON vaccination_lots(lot_no);
CREATE INDEX vaccination_lots_device ON vaccination_lots(device_id);
CREATE TABLE vaccination_stock_moves (
    id TEXT PRIMARY KEY,
    lot_id TEXT NOT NULL REFERENCES vaccination_lots(id),
    kind TEXT NOT NULL,
    delta BIGINT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    dose_id TEXT,
    at TEXT NOT NULL,
    by_user TEXT NOT NULL
);
CREATE INDEX vaccination_stock_moves_lot ON vaccination_stock_moves(lot_id, at);
CREATE TABLE vaccination_visits (
    id TEXT PRIMARY KEY,
    clinic_code TEXT NOT NULL REFERENCES orgs(code),
    clinic_path TEXT COLLATE BINARY NOT NULL,
    patient_id TEXT NOT NULL,
    patient_path TEXT COLLATE BINARY NOT NULL,
    day TEXT NOT NULL,
    queue_no BIGINT NOT NULL,
    status TEXT NOT NULL,
    screening TEXT NOT NULL DEFAULT '',
    deferral_reason TEXT NOT NULL DEFAULT '',
    return_date TEXT,
    planned TEXT NOT NULL DEFAULT '',
    consent_by TEXT NOT NULL DEFAULT '',
    consent_at TEXT,
    obs_start TEXT,
    obs_end TEXT,
    early_leave BIGINT NOT NULL DEFAULT 0,
    next_date TEXT,
    checked_in_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (clinic_code, day, queue_no)
);
CREATE INDEX vaccination_visits_day ON vaccination_visits(clinic_code, day, status);
CREATE INDEX vaccination_visits_patient ON vaccination_visits(patient_id);
CREATE TABLE vaccination_doses (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL,
    patient_path TEXT COLLATE BINARY NOT NULL,
    org_code TEXT NOT NULL DEFAULT '',
    product_code TEXT NOT NULL REFERENCES vaccination_products(code),
    cvx BIGINT NOT NULL,
    lot_id TEXT REFERENCES vaccination_lots(id),
    lot_no TEXT NOT NULL DEFAULT '',
    given_on TEXT NOT NULL,
    site TEXT NOT NULL DEFAULT '',
    route TEXT NOT NULL DEFAULT '',
    vaccinator TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    visit_id TEXT,
    status TEXT NOT NULL DEFAULT 'completed',
    recorded_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX vaccination_doses_patient ON vaccination_doses(patient_id, given_on);
CREATE INDEX vaccination_doses_path ON vaccination_doses(patient_path, given_on);
CREATE INDEX vaccination_doses_date ON vaccination_doses(given_on);
CREATE TABLE vaccination_aefi (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL,
    patient_path TEXT COLLATE BINARY NOT NULL,
    dose_id TEXT REFERENCES vaccination_doses(id),
    lot_id TEXT,
    onset TEXT NOT NULL,
    symptoms TEXT NOT NULL,
    severity TEXT NOT NULL,
    treatment TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    serious BIGINT NOT NULL,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL
);
CREATE INDEX vaccination_aefi_path ON vaccination_aefi(patient_path);
CREATE TABLE vaccination_alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    org_path TEXT COLLATE BINARY NOT NULL,
    ref_id TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TEXT NOT NULL,
    acknowledged_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX vaccination_alerts_path ON vaccination_alerts(org_path, created_at);
CREATE TABLE vaccination_readings (
    device_id TEXT NOT NULL REFERENCES vaccination_devices(id),
    at TEXT NOT NULL,
    tenths BIGINT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, at)
);
CREATE TABLE vaccination_excursions (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES vaccination_devices(id),
    started_at TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    minutes BIGINT NOT NULL,
    extreme_tenths BIGINT NOT NULL,
    reviewed BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX vaccination_excursions_device ON vaccination_excursions(device_id, started_at);
"#;

/// China's programme products and the common non-programme ones (same codes and CVX as the
/// forecast engine's `product-codes.csv`).
const PRODUCTS: &str = r#"
INSERT INTO vaccination_products (code, name_en, name_zh, cvx, route, live) VALUES
('HepB', 'Recombinant hepatitis B vaccine', '乙肝疫苗', 8, 'IM', 0),
('BCG', 'BCG vaccine', '卡介苗', 19, 'ID', 1),
('IPV', 'Inactivated poliovirus vaccine', '脊灰灭活疫苗', 10, 'IM', 0),
('bOPV', 'Bivalent oral poliovirus vaccine', '脊灰减毒活疫苗', 178, 'PO', 1),
('DTaP', 'DTaP vaccine', '百白破疫苗', 20, 'IM', 0),
('DT', 'DT vaccine (paediatric)', '白破疫苗', 28, 'IM', 0),
('MMR', 'MMR vaccine', '麻腮风疫苗', 3, 'SC', 1),
('JE-L', 'Live attenuated JE vaccine', '乙脑减毒活疫苗', 9001, 'SC', 1),
('JE-I', 'Inactivated JE vaccine', '乙脑灭活疫苗', 134, 'IM', 0),
('MPSV-A', 'Group A meningococcal polysaccharide vaccine', 'A群流脑多糖疫苗', 191, 'SC', 0),
('MPSV-AC', 'Group A+C meningococcal polysaccharide vaccine', 'A群C群流脑多糖疫苗', 192, 'SC', 0),
('HepA-L', 'Live attenuated hepatitis A vaccine', '甲肝减毒活疫苗', 169, 'SC', 1),
('HepA-I', 'Inactivated hepatitis A vaccine', '甲肝灭活疫苗', 83, 'IM', 0),
('Hib', 'Hib conjugate vaccine', 'b型流感嗜血杆菌结合疫苗', 48, 'IM', 0),
('PCV13', '13-valent pneumococcal conjugate vaccine', '13价肺炎球菌多糖结合疫苗', 133, 'IM', 0),
('VAR', 'Varicella live vaccine', '水痘减毒活疫苗', 21, 'SC', 1),
('IIV', 'Influenza vaccine (split virion)', '流感病毒裂解疫苗', 150, 'IM', 0),
('EV71', 'Enterovirus 71 inactivated vaccine', '肠道病毒71型灭活疫苗', 9002, 'IM', 0);
"#;

/// Residence status history (resident, moved in, moved out: 流动儿童), one row per change; the
/// latest `since` (then `recorded_at`) is the current status.
const RESIDENCE: &str = r#"
CREATE TABLE vaccination_residence (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL,
    patient_path TEXT COLLATE BINARY NOT NULL,
    status TEXT NOT NULL,
    since TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX vaccination_residence_patient ON vaccination_residence(patient_id, since);
CREATE INDEX vaccination_residence_path ON vaccination_residence(patient_path);
"#;

/// Reminders sent to guardians of overdue children: each one's message in the platform's outbox
/// (its delivery state lives there).
const REMINDERS: &str = r#"
CREATE TABLE vaccination_reminders (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL,
    patient_path TEXT COLLATE BINARY NOT NULL,
    org_code TEXT NOT NULL,
    phone TEXT NOT NULL,
    overdue TEXT NOT NULL,
    message_id BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX vaccination_reminders_path ON vaccination_reminders(patient_path, created_at);
CREATE INDEX vaccination_reminders_patient ON vaccination_reminders(patient_id, created_at);
"#;

/// Opened multi-dose vials: the lot's policy (discard after hours, or at the end of the clinic
/// day) and each open vial with the doses left in it; at most one open vial per lot.
const VIALS: &str = r#"
ALTER TABLE vaccination_lots ADD COLUMN open_policy TEXT NOT NULL DEFAULT 'none';
ALTER TABLE vaccination_lots ADD COLUMN open_hours BIGINT NOT NULL DEFAULT 0;
CREATE TABLE vaccination_open_vials (
    id TEXT PRIMARY KEY,
    lot_id TEXT NOT NULL REFERENCES vaccination_lots(id),
    opened_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    doses_left BIGINT NOT NULL,
    status TEXT NOT NULL,
    closed_at TEXT,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX vaccination_open_vials_one ON vaccination_open_vials(lot_id) WHERE status = 'open';
CREATE INDEX vaccination_open_vials_due ON vaccination_open_vials(status, expires_at);
"#;

/// What the module knows of a child beyond the registry's record: the birth facility (an
/// organisation of the tree, or a place named in words: born at home, elsewhere).
const CHILDREN: &str = r#"
CREATE TABLE vaccination_children (
    patient_id TEXT PRIMARY KEY,
    patient_path TEXT COLLATE BINARY NOT NULL,
    birth_facility_code TEXT NOT NULL DEFAULT '',
    birth_facility_name TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"#;

/// The last queue number issued per clinic and day: one conditional upsert hands out the next,
/// so two check-ins at once never draw the same number (PostgreSQL locks the row).
const QUEUE: &str = r#"
CREATE TABLE vaccination_queue_numbers (
    clinic_code TEXT NOT NULL,
    day TEXT NOT NULL,
    last_no BIGINT NOT NULL,
    PRIMARY KEY (clinic_code, day)
);
INSERT INTO vaccination_queue_numbers (clinic_code, day, last_no)
    SELECT clinic_code, day, MAX(queue_no) FROM vaccination_visits GROUP BY clinic_code, day;
"#;

pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::same(
            400,
            "vaccination: products, lots, stock, visits, doses, AEFI, cold chain",
            CORE,
        ),
        Migration::same(401, "vaccination: China programme products", PRODUCTS),
        Migration::same(402, "vaccination: residence status history", RESIDENCE),
        Migration::same(403, "vaccination: reminders to guardians", REMINDERS),
        Migration::same(404, "vaccination: opened multi-dose vials", VIALS),
        Migration::same(405, "vaccination: birth facility of a child", CHILDREN),
        Migration::same(
            406,
            "vaccination: queue numbers drawn without a race",
            QUEUE,
        ),
    ]
}
