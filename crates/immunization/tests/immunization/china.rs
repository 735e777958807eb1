//! Table-driven tests of the China schedule (schedules/china). Each row names the rule it checks
//! and, in brackets, the source the rule was confirmed from. Rules: a rule id of
//! shared/data/china-nip-2021/nip_2021_rules.csv (G-*, HEPB-*, ...), `table` for the official
//! 2021 table (the age in the table is the minimum age, G-START), `DTaP-2025` for the adjustment
//! effective 2025-01-01, NONNIP-* for non-programme vaccines. Sources (docs/immunization.md,
//! "Which rules were confirmed, and how"):
//! - S0: the official 2021 table and HIV table (OCR copy in shared/data/china-nip-2021);
//! - S1: the 2021 说明 as transcribed from the official PDF (广东省疾控中心 mirror) in
//!   deep2code/doctor-agent `external/convert_immunization.py` (commit c2845cff);
//! - S2: notes on the 2026 edition that compare it with 2021, lj-lioo/baby-record
//!   `DEPLOY-NOTES.md` (commit c4435643);
//! - S3: third-party app data only (weak; ids in nip_2021_rules.csv);
//! - S4: the NHC notice on the DTaP adjustment of 2025-01-01, as cited by third-party app data;
//! - LABEL: product labels (non-programme vaccines, not an official schedule);
//! - RECALLED: found in no source; kept and marked (docs/immunization.md says why).
//!
//! Row format: `rule | birth date | assessment date | history | observations | group | checks`.
//! History is `PRODUCT@date` items (China product codes from product-codes.csv). Checks, `;`
//! separated: `dose N valid`, `dose N notvalid <reason>`, `dose N extraneous <reason>`, `status <status>`, `next N`,
//! `dates <earliest> <recommended> <past due>` (`-` for none), `series <name>`,
//! `vaccines <cvx>...` (the recommended vaccines of the next dose).

use tianshan_immunization::{
    forecast, DoseAdministered, EvalStatus, PatientHistory, PatientObservation, Schedule,
};
use time::Date;

use super::china_schedule;

const ROWS: &str = r#"
table [S0] HepB d1 at birth (G-START)                     | 2024-03-10 | 2024-03-10 | HepB@2024-03-10 |  | HepB | dose 1 valid
table [S0] HepB d2 at 1 month                             | 2024-03-10 | 2024-06-01 | HepB@2024-03-10 HepB@2024-04-10 |  | HepB | dose 2 valid
table [S0] HepB d2 one day early                          | 2024-03-10 | 2024-06-01 | HepB@2024-03-10 HepB@2024-04-09 |  | HepB | dose 2 notvalid Age: Too Young
HEPB-CU [S3] d2-d1 27 days                                | 2024-03-10 | 2024-06-01 | HepB@2024-04-01 HepB@2024-04-28 |  | HepB | dose 2 notvalid Interval: Too Soon
HEPB-CU [S3] d2-d1 28 days                                | 2024-03-10 | 2024-06-01 | HepB@2024-04-01 HepB@2024-04-29 |  | HepB | dose 2 valid
table [S0] HepB d3 at 6 months                            | 2024-03-10 | 2024-10-01 | HepB@2024-03-10 HepB@2024-04-10 HepB@2024-09-10 |  | HepB | dose 3 valid; status Complete
table [S0] HepB d3 one day early                          | 2024-03-10 | 2024-10-01 | HepB@2024-03-10 HepB@2024-04-10 HepB@2024-09-09 |  | HepB | dose 3 notvalid Age: Too Young
HEPB-CU [S3] d3-d2 59 days                                | 2024-03-10 | 2024-10-01 | HepB@2024-03-10 HepB@2024-08-01 HepB@2024-09-29 |  | HepB | dose 3 notvalid Interval: Too Soon
HEPB-CU [S3] d3-d2 60 days                                | 2024-03-10 | 2024-10-01 | HepB@2024-03-10 HepB@2024-08-01 HepB@2024-09-30 |  | HepB | dose 3 valid
HEPB-CU [RECALLED] d3-d1 under 4 months (late start)      | 2024-03-10 | 2025-02-01 | HepB@2024-09-01 HepB@2024-10-01 HepB@2024-12-31 |  | HepB | dose 3 notvalid Interval: Too Soon
HEPB-CU [RECALLED] d3-d1 4 months (late start)            | 2024-03-10 | 2025-02-01 | HepB@2024-09-01 HepB@2024-10-01 HepB@2025-01-01 |  | HepB | dose 3 valid
G-DUE-1 [S1] newborn: due within 24 h                     | 2024-03-10 | 2024-03-10 |  |  | HepB | status Not complete; dates 2024-03-10 2024-03-10 2024-03-10
G-DUE-3 [S1, S2] HepB d3 due before 12 months             | 2024-03-10 | 2024-05-01 | HepB@2024-03-10 HepB@2024-04-10 |  | HepB | next 3; dates 2024-09-10 2024-09-10 2025-03-09
HEPB-1 [S1] HBsAg-positive mother: risk series            | 2024-03-10 | 2024-03-10 |  | CN001 | HepB | series HepB HBsAg-positive mother 3-dose series; dates 2024-03-10 2024-03-10 2024-03-10
HEPB-1 [S1] under 2000 g: dose 3 at 2 months              | 2024-03-10 | 2024-04-20 | HepB@2024-03-10 HepB@2024-04-10 | CN002 | HepB | next 3; dates 2024-05-10 2024-05-10 -
HEPB-1 [S1] under 2000 g: 3 doses do not complete         | 2024-03-10 | 2024-06-01 | HepB@2024-03-10 HepB@2024-04-10 HepB@2024-05-10 | CN002 | HepB | status Not complete; next 4; dates 2024-10-10 2024-10-10 2025-03-09
HEPB-1 [S1] under 2000 g: complete at 7 months            | 2024-03-10 | 2024-11-01 | HepB@2024-03-10 HepB@2024-04-10 HepB@2024-05-10 HepB@2024-10-10 | CN002 | HepB | status Complete
G-DUE-2 [S1, S2] BCG at birth, due before 3 months        | 2024-03-10 | 2024-03-10 |  |  | BCG | dates 2024-03-10 2024-03-10 2024-06-09
BCG-CU [S1, S2] no BCG from 4 years                       | 2020-01-01 | 2024-01-01 |  |  | BCG | status Aged out
HIV [S0, S1] table: BCG contraindicated                   | 2024-03-10 | 2024-03-10 |  | CN011 | BCG | status Contraindicated
table [S0] IPV d1 at 2 months                             | 2024-03-10 | 2024-06-01 | IPV@2024-05-10 |  | Polio | dose 1 valid
table [S0] IPV d1 one day early                           | 2024-03-10 | 2024-06-01 | IPV@2024-05-09 |  | Polio | dose 1 notvalid Age: Too Young
POLIO-CU [S1] 27 days                                     | 2024-03-10 | 2024-09-01 | IPV@2024-07-01 IPV@2024-07-28 |  | Polio | dose 2 notvalid Interval: Too Soon
POLIO-CU [S1] 28 days                                     | 2024-03-10 | 2024-09-01 | IPV@2024-07-01 IPV@2024-07-29 |  | Polio | dose 2 valid
table [S0] bOPV d3 at 4 months                            | 2024-03-10 | 2024-08-01 | IPV@2024-05-10 IPV@2024-06-10 bOPV@2024-07-10 |  | Polio | dose 3 valid
G-DUE-3 [S1, S2] polio d3 due before 12 months            | 2024-03-10 | 2024-06-20 | IPV@2024-05-10 IPV@2024-06-10 |  | Polio | dates 2024-07-10 2024-07-10 2025-03-09
table [S0] bOPV d4 at 4 years                             | 2024-03-10 | 2028-04-01 | IPV@2024-05-10 IPV@2024-06-10 bOPV@2024-07-10 bOPV@2028-03-10 |  | Polio | dose 4 valid; status Complete
table [S0] bOPV d4 one day early                          | 2024-03-10 | 2028-04-01 | IPV@2024-05-10 IPV@2024-06-10 bOPV@2024-07-10 bOPV@2028-03-09 |  | Polio | dose 4 notvalid Age: Too Young
table 2021 [S0] DTaP d1 at 3 months                       | 2024-03-10 | 2024-07-01 | DTaP@2024-06-10 |  | DTaP | dose 1 valid
table 2021 [S0] DTaP d1 at 2 months is too young          | 2024-03-10 | 2024-07-01 | DTaP@2024-05-10 |  | DTaP | dose 1 notvalid Age: Too Young
DTaP-2025 [S4] d1 at 2 months                             | 2025-03-10 | 2025-06-01 | DTaP@2025-05-10 |  | DTaP | dose 1 valid
DTaP-2025 [S4] d1 one day early                           | 2025-03-10 | 2025-06-01 | DTaP@2025-05-09 |  | DTaP | dose 1 notvalid Age: Too Young
table 2021 [S0] DTaP d3 at 5 months                       | 2024-03-10 | 2024-09-01 | DTaP@2024-06-10 DTaP@2024-07-10 DTaP@2024-08-10 |  | DTaP | dose 3 valid
DTaP-2025 [S4] d3 needs 6 months                          | 2025-03-10 | 2025-10-01 | DTaP@2025-05-10 DTaP@2025-07-10 DTaP@2025-09-09 |  | DTaP | dose 3 notvalid Age: Too Young
DTAP-CU [S1] d2 27 days after d1                          | 2024-03-10 | 2024-09-01 | DTaP@2024-06-10 DTaP@2024-07-07 |  | DTaP | dose 2 notvalid Interval: Too Soon
DTAP-CU [S1] d4 under 6 months after d3                   | 2023-01-10 | 2024-10-01 | DTaP@2023-04-10 DTaP@2023-05-10 DTaP@2024-03-01 DTaP@2024-08-31 |  | DTaP | dose 4 notvalid Interval: Too Soon
DTAP-CU [S1] d4 6 months after d3                         | 2023-01-10 | 2024-10-01 | DTaP@2023-04-10 DTaP@2023-05-10 DTaP@2024-03-01 DTaP@2024-09-01 |  | DTaP | dose 4 valid
table 2021 [S0] DT at 6 years completes                   | 2018-03-10 | 2025-06-01 | DTaP@2018-06-10 DTaP@2018-07-10 DTaP@2018-08-10 DTaP@2019-09-10 DT@2024-03-10 |  | DTaP | dose 5 valid; status Complete
DTaP-2025 [S4] DTaP (not DT) at 6 years                   | 2019-03-10 | 2025-04-01 | DTaP@2019-06-10 DTaP@2019-07-10 DTaP@2019-08-10 DTaP@2020-09-10 |  | DTaP | status Not complete; next 5; dates 2025-03-10 2025-03-10 2026-03-09
DTaP-2025 [S4] DTaP at 6 years completes                  | 2019-03-10 | 2025-04-01 | DTaP@2019-06-10 DTaP@2019-07-10 DTaP@2019-08-10 DTaP@2020-09-10 DTaP@2025-03-10 |  | DTaP | dose 5 valid; status Complete
table [S0] MMR d1 at 8 months                             | 2024-03-10 | 2024-12-01 | MMR@2024-11-10 |  | MMR | dose 1 valid
table [S0] MMR d1 one day early                           | 2024-03-10 | 2024-12-01 | MMR@2024-11-09 |  | MMR | dose 1 notvalid Age: Too Young
MMR-CU [S1] two MMR doses 27 days apart                   | 2024-03-10 | 2025-11-01 | MMR@2025-09-10 MMR@2025-10-07 |  | MMR | dose 2 notvalid Interval: Too Soon
MMR-CU [S1] two MMR doses 28 days apart                   | 2024-03-10 | 2025-11-01 | MMR@2025-09-10 MMR@2025-10-08 |  | MMR | dose 2 valid; status Complete
G-LIVE28 [S1] JE-L 27 days after MMR                      | 2024-03-10 | 2025-01-01 | MMR@2024-11-10 JE-L@2024-12-07 |  | Japanese Encephalitis | dose 2 notvalid Live Virus Conflict
G-LIVE28 [S1] JE-L 28 days after MMR                      | 2024-03-10 | 2025-01-01 | MMR@2024-11-10 JE-L@2024-12-08 |  | Japanese Encephalitis | dose 2 valid
G-LIVE28 [S1] same day is allowed                         | 2024-03-10 | 2025-01-01 | MMR@2024-11-10 JE-L@2024-11-10 |  | Japanese Encephalitis | dose 2 valid
G-LIVE28 [S1] HepA-L 10 days after varicella              | 2022-03-10 | 2024-01-01 | VAR@2023-09-01 HepA-L@2023-09-11 |  | HepA | dose 2 notvalid Live Virus Conflict
G-INACT [S1] JE-I the day after MMR                       | 2024-03-10 | 2025-01-01 | MMR@2024-11-10 JE-I@2024-11-11 |  | Japanese Encephalitis | dose 2 valid
G-INACT [S1] bOPV 5 days after MMR                        | 2024-03-10 | 2025-01-01 | IPV@2024-05-10 IPV@2024-06-10 MMR@2024-11-10 bOPV@2024-11-15 |  | Polio | dose 4 valid
G-LIVE28 [S1] forecast waits 28 days after MMR            | 2024-03-10 | 2024-11-20 | MMR@2024-11-10 |  | Japanese Encephalitis | dates 2024-12-08 2024-12-08 2025-03-09
T-FN2 [S0] JE-I d2 6 days after d1                        | 2024-03-10 | 2025-01-01 | JE-I@2024-11-10 JE-I@2024-11-16 |  | Japanese Encephalitis | dose 2 notvalid Interval: Too Soon
T-FN2 [S0] JE-I d2 7 days after d1                        | 2024-03-10 | 2025-01-01 | JE-I@2024-11-10 JE-I@2024-11-17 |  | Japanese Encephalitis | dose 2 valid; series JE inactivated 4-dose series
JEL-CU [S1] JE-L doses under 12 months apart              | 2022-03-10 | 2025-07-01 | JE-L@2024-06-01 JE-L@2025-05-31 |  | Japanese Encephalitis | dose 2 notvalid Interval: Too Soon
JEL-CU [S1] JE-L doses 12 months apart                    | 2022-03-10 | 2025-07-01 | JE-L@2024-06-01 JE-L@2025-06-01 |  | Japanese Encephalitis | dose 2 valid; status Complete
MEN-1 [S1] MPSV-A doses under 3 months apart              | 2024-03-10 | 2025-01-01 | MPSV-A@2024-09-10 MPSV-A@2024-12-09 |  | Meningococcal | dose 2 notvalid Interval: Too Soon
MEN-1 [S1] MPSV-A doses 3 months apart                    | 2024-03-10 | 2025-01-01 | MPSV-A@2024-09-10 MPSV-A@2024-12-10 |  | Meningococcal | dose 2 valid
MEN-CU [S1] from 24 months MPSV-AC at once                | 2021-03-10 | 2023-06-01 |  |  | Meningococcal | next 3; dates 2023-03-10 2023-03-10 2025-03-09
HEPA-CU [S1] HepA-I then HepA-L 6 months later            | 2022-03-10 | 2024-06-01 | HepA-I@2023-09-10 HepA-L@2024-03-10 |  | HepA | status Complete
HEPA-CU [S1] HepA-I doses under 6 months apart            | 2022-03-10 | 2024-06-01 | HepA-I@2023-09-10 HepA-I@2024-03-09 |  | HepA | dose 2 notvalid Interval: Too Soon
T-FN3 [S0] one HepA-L dose completes                      | 2022-03-10 | 2024-06-01 | HepA-L@2023-09-10 |  | HepA | status Complete
G-CATCH [S1] late starter is due HepB at once             | 2021-03-10 | 2024-03-10 |  |  | HepB | status Not complete; next 1; dates 2021-03-10 2021-03-10 2021-03-10
G-CATCH [S1] interrupted series is not restarted          | 2021-03-10 | 2024-03-10 | HepB@2021-03-10 HepB@2021-04-10 |  | HepB | next 3; dates 2021-09-10 2021-09-10 2022-03-09
G-CATCH [S1] late starter MMR catch-up interval           | 2020-03-10 | 2024-03-10 | MMR@2024-02-01 |  | MMR | next 2; dates 2024-02-29 2024-02-29 2024-02-29
G-CATCH [S1] programme ends at 18 years                   | 2005-01-01 | 2024-01-01 |  |  | MMR | status Aged out
table [S0] IPV d2 at 3 months                             | 2022-03-10 | 2022-08-01 | IPV@2022-05-10 IPV@2022-06-10 |  | Polio | dose 2 valid
table [S0] IPV d2 one day early                           | 2022-03-10 | 2022-08-01 | IPV@2022-05-10 IPV@2022-06-09 |  | Polio | dose 2 notvalid Age: Too Young
table [S0] bOPV d3 one day early                          | 2022-03-10 | 2022-08-01 | IPV@2022-05-10 IPV@2022-06-10 bOPV@2022-07-09 |  | Polio | dose 3 notvalid Age: Too Young
POLIO-CU [S1] d3-d2 27 days                               | 2022-03-10 | 2022-12-01 | IPV@2022-08-01 IPV@2022-09-01 bOPV@2022-09-28 |  | Polio | dose 3 notvalid Interval: Too Soon
POLIO-CU [S1] d4-d3 27 days                               | 2022-03-10 | 2026-06-01 | IPV@2022-05-10 IPV@2022-06-10 bOPV@2026-02-20 bOPV@2026-03-19 |  | Polio | dose 4 notvalid Interval: Too Soon
table 2021 [S0] DTaP d2 at 4 months                       | 2022-03-10 | 2022-08-01 | DTaP@2022-06-10 DTaP@2022-07-10 |  | DTaP | dose 2 valid
table 2021 [S0] DTaP d2 one day early                     | 2022-03-10 | 2022-08-01 | DTaP@2022-06-10 DTaP@2022-07-09 |  | DTaP | dose 2 notvalid Age: Too Young
table 2021 [S0] DTaP d3 one day early                     | 2022-03-10 | 2022-09-01 | DTaP@2022-06-10 DTaP@2022-07-10 DTaP@2022-08-09 |  | DTaP | dose 3 notvalid Age: Too Young
DTAP-CU [S1] d3-d2 27 days                                | 2022-03-10 | 2022-10-01 | DTaP@2022-06-10 DTaP@2022-08-01 DTaP@2022-08-28 |  | DTaP | dose 3 notvalid Interval: Too Soon
table [S0] DTaP d4 at 18 months                           | 2022-03-10 | 2023-10-01 | DTaP@2022-06-10 DTaP@2022-07-10 DTaP@2022-08-10 DTaP@2023-09-10 |  | DTaP | dose 4 valid
table [S0] DTaP d4 one day early                          | 2022-03-10 | 2023-10-01 | DTaP@2022-06-10 DTaP@2022-07-10 DTaP@2022-08-10 DTaP@2023-09-09 |  | DTaP | dose 4 notvalid Age: Too Young
table 2021 [S0] DT d5 one day early                       | 2018-03-10 | 2024-06-01 | DTaP@2018-06-10 DTaP@2018-07-10 DTaP@2018-08-10 DTaP@2019-09-10 DT@2024-03-09 |  | DTaP | dose 5 notvalid Age: Too Young
table [S0] MMR d2 at 18 months                            | 2022-03-10 | 2023-10-01 | MMR@2022-11-10 MMR@2023-09-10 |  | MMR | dose 2 valid
table [S0] MMR d2 one day early                           | 2022-03-10 | 2023-10-01 | MMR@2022-11-10 MMR@2023-09-09 |  | MMR | dose 2 notvalid Age: Too Young
table [S0] JE-L d1 at 8 months                            | 2022-03-10 | 2023-01-01 | JE-L@2022-11-10 |  | Japanese Encephalitis | dose 1 valid
table [S0] JE-L d1 one day early                          | 2022-03-10 | 2023-01-01 | JE-L@2022-11-09 |  | Japanese Encephalitis | dose 1 notvalid Age: Too Young
table [S0] JE-L d2 at 2 years                             | 2022-03-10 | 2024-06-01 | JE-L@2022-11-10 JE-L@2024-03-10 |  | Japanese Encephalitis | dose 2 valid; status Complete
table [S0] JE-L d2 one day early                          | 2022-03-10 | 2024-06-01 | JE-L@2022-11-10 JE-L@2024-03-09 |  | Japanese Encephalitis | dose 2 notvalid Age: Too Young
table [S0] JE-I d3 at 2 years                             | 2022-03-10 | 2024-06-01 | JE-I@2022-11-10 JE-I@2022-11-17 JE-I@2024-03-10 |  | Japanese Encephalitis | dose 3 valid
table [S0] JE-I d3 one day early                          | 2022-03-10 | 2024-06-01 | JE-I@2022-11-10 JE-I@2022-11-17 JE-I@2024-03-09 |  | Japanese Encephalitis | dose 3 notvalid Age: Too Young
JEI-CU [S1] d3 under 1 month after d2                     | 2021-03-10 | 2024-06-01 | JE-I@2024-03-01 JE-I@2024-03-08 JE-I@2024-04-07 |  | Japanese Encephalitis | dose 3 notvalid Interval: Too Soon
JEI-CU [S1] d3 1 month after d2                           | 2021-03-10 | 2024-06-01 | JE-I@2024-03-01 JE-I@2024-03-08 JE-I@2024-04-08 |  | Japanese Encephalitis | dose 3 valid
table [S0] JE-I d4 at 6 years                             | 2018-03-10 | 2024-06-01 | JE-I@2019-01-01 JE-I@2019-01-08 JE-I@2020-03-10 JE-I@2024-03-10 |  | Japanese Encephalitis | dose 4 valid; status Complete
table [S0] JE-I d4 one day early                          | 2018-03-10 | 2024-06-01 | JE-I@2019-01-01 JE-I@2019-01-08 JE-I@2020-03-10 JE-I@2024-03-09 |  | Japanese Encephalitis | dose 4 notvalid Age: Too Young
JEI-CU [S1] d4 under 3 years after d3                     | 2018-03-10 | 2025-07-01 | JE-I@2021-06-01 JE-I@2021-06-08 JE-I@2022-06-01 JE-I@2025-05-31 |  | Japanese Encephalitis | dose 4 notvalid Interval: Too Soon
table [S0] MPSV-A d1 at 6 months                          | 2022-03-10 | 2022-10-01 | MPSV-A@2022-09-10 |  | Meningococcal | dose 1 valid
table [S0] MPSV-A d1 one day early                        | 2022-03-10 | 2022-10-01 | MPSV-A@2022-09-09 |  | Meningococcal | dose 1 notvalid Age: Too Young
table [S0] MPSV-AC d3 at 3 years                          | 2022-03-10 | 2025-06-01 | MPSV-A@2022-09-10 MPSV-A@2022-12-10 MPSV-AC@2025-03-10 |  | Meningococcal | dose 3 valid
table [S0] MPSV-AC d3 one day early                       | 2022-03-10 | 2025-06-01 | MPSV-A@2022-09-10 MPSV-A@2022-12-10 MPSV-AC@2025-03-09 |  | Meningococcal | dose 3 notvalid Age: Too Young
table [S0] MPSV-AC d4 at 6 years                          | 2018-03-10 | 2024-06-01 | MPSV-A@2018-09-10 MPSV-A@2018-12-10 MPSV-AC@2021-03-10 MPSV-AC@2024-03-10 |  | Meningococcal | dose 4 valid; status Complete
table [S0] MPSV-AC d4 one day early                       | 2018-03-10 | 2024-06-01 | MPSV-A@2018-09-10 MPSV-A@2018-12-10 MPSV-AC@2021-03-10 MPSV-AC@2024-03-09 |  | Meningococcal | dose 4 notvalid Age: Too Young
MEN-1 [S1] MPSV-AC doses under 3 years apart              | 2018-03-10 | 2025-02-01 | MPSV-A@2018-09-10 MPSV-A@2018-12-10 MPSV-AC@2022-01-01 MPSV-AC@2024-12-31 |  | Meningococcal | dose 4 notvalid Interval: Too Soon
MEN-1 [S1] MPSV-AC doses 3 years apart                    | 2018-03-10 | 2025-02-01 | MPSV-A@2018-09-10 MPSV-A@2018-12-10 MPSV-AC@2022-01-01 MPSV-AC@2025-01-01 |  | Meningococcal | dose 4 valid
table [S0] HepA-L at 18 months                            | 2022-03-10 | 2024-01-01 | HepA-L@2023-09-10 |  | HepA | dose 1 valid
table [S0] HepA-L one day early                           | 2022-03-10 | 2024-01-01 | HepA-L@2023-09-09 |  | HepA | dose 1 notvalid Age: Too Young
table [S0] HepA-I d2 at 2 years                           | 2022-03-10 | 2024-06-01 | HepA-I@2023-09-10 HepA-I@2024-03-10 |  | HepA | dose 2 valid; status Complete
table [S0] HepA-I d2 one day early                        | 2022-03-10 | 2024-06-01 | HepA-I@2023-09-10 HepA-I@2024-03-09 |  | HepA | dose 2 notvalid Age: Too Young
G-CATCH [S1] 4-year-old starts meningococcal with MPSV-AC | 2021-03-10 | 2025-03-10 |  |  | Meningococcal | next 3; dates 2023-03-10 2023-03-10 2025-03-09
G-CATCH [S1] 4-year-old DTaP catch-up by 2025 ages        | 2021-03-10 | 2025-03-10 |  |  | DTaP | next 1; dates 2021-05-10 2021-05-10 -
G-CATCH [S1] late DTaP d2 waits 28 days                   | 2021-03-10 | 2025-03-10 | DTaP@2025-03-10 |  | DTaP | next 2; dates 2025-04-07 2025-04-07 -
NONNIP-HIB [LABEL] start at 1-5 years: one dose           | 2022-03-10 | 2024-01-01 | Hib@2023-06-01 |  | Hib | status Complete
NONNIP-PCV [LABEL] start at 12-23 months: 8 weeks         | 2023-01-10 | 2024-06-01 | PCV13@2024-02-01 |  | Pneumococcal | dates 2024-03-28 2024-03-28 -
NONNIP-PCV [LABEL] start at 12-23 months: two doses       | 2023-01-10 | 2024-06-01 | PCV13@2024-02-01 PCV13@2024-03-28 |  | Pneumococcal | dose 2 valid; status Complete
NONNIP-PCV [LABEL] start at 2-5 years: one dose           | 2021-01-10 | 2024-06-01 | PCV13@2024-02-01 |  | Pneumococcal | status Complete
NONNIP-HIB [LABEL] start at 6-11 months: 2 + booster      | 2023-01-10 | 2024-06-01 | Hib@2023-08-01 Hib@2023-09-01 |  | Hib | next 4; dates 2024-07-10 2024-07-10 -
NONNIP-RV5 [LABEL] three doses complete                   | 2024-03-10 | 2024-07-01 | RV5@2024-04-21 RV5@2024-05-19 RV5@2024-06-16 |  | Rotavirus | dose 3 valid; status Complete
NONNIP-RV5 [LABEL] first dose after 12 weeks              | 2024-03-10 | 2024-07-01 | RV5@2024-06-03 |  | Rotavirus | dose 1 extraneous Age: Too Old
NONNIP-LLR [LABEL] one dose a year                        | 2024-03-10 | 2024-06-01 | RV-LLR@2024-05-10 |  | Rotavirus | dates 2025-05-10 2025-05-10 -
NONNIP-VAR [LABEL] doses under 3 months apart             | 2022-03-10 | 2023-07-01 | VAR@2023-03-10 VAR@2023-06-09 |  | Varicella | dose 2 notvalid Interval: Too Soon
NONNIP-VAR [LABEL] doses 3 months apart                   | 2022-03-10 | 2023-07-01 | VAR@2023-03-10 VAR@2023-06-10 |  | Varicella | dose 2 valid; status Complete
NONNIP-FLU [LABEL] first season: 2 doses under 9          | 2022-03-10 | 2024-10-05 | IIV@2024-10-01 |  | Influenza | next 2; dates 2024-10-29 2024-10-29 -
NONNIP-FLU [LABEL] from 9 years: one dose a season        | 2014-03-10 | 2024-10-05 | IIV@2024-10-01 |  | Influenza | next 3; dates 2025-04-01 2025-10-01 -
NONNIP-EV71 [LABEL] doses under 1 month apart             | 2024-03-10 | 2025-01-01 | EV71@2024-09-10 EV71@2024-10-09 |  | EV71 | dose 2 notvalid Interval: Too Soon
NONNIP-EV71 [LABEL] two doses a month apart               | 2024-03-10 | 2025-01-01 | EV71@2024-09-10 EV71@2024-10-10 |  | EV71 | dose 2 valid; status Complete
MEN-CU [S1] one MPSV-A: MPSV-AC 3 months later            | 2021-03-10 | 2023-03-20 | MPSV-A@2023-02-01 |  | Meningococcal | dose 1 valid; next 3; dates 2023-05-01 2023-05-01 2025-03-09
MEN-1 [S1] routine MPSV-AC 12 months after MPSV-A 2       | 2022-03-10 | 2024-06-01 | MPSV-A@2022-09-10 MPSV-A@2023-02-10 |  | Meningococcal | next 3; dates 2025-03-10 2025-03-10 2026-03-09
MEN-CU [S1] routine MPSV-AC completes dose 3              | 2021-03-10 | 2024-06-01 | MPSV-A@2021-09-10 MPSV-A@2021-12-10 MPSV-AC@2024-03-10 |  | Meningococcal | dose 3 valid; next 4; dates 2027-03-10 2027-03-10 2028-03-09
BCG-CU [S1, S2] positive PPD from 3 months: no BCG        | 2024-03-10 | 2024-09-01 |  | CN020 | BCG | status Contraindicated
BCG-CU [S1, S2] under 3 months no PPD test needed         | 2024-03-10 | 2024-05-01 |  | CN020 | BCG | status Not complete; vaccines 19
BCG-CU [S1, S2] 3 years, no test result: still due        | 2021-03-10 | 2024-06-01 |  |  | BCG | status Not complete; dates 2021-03-10 2021-03-10 2021-06-09
DTAP-CU [S1] 6 years with 3 DTaP: DT or DTaP due (2021)   | 2017-03-10 | 2024-06-01 | DTaP@2017-06-10 DTaP@2017-07-10 DTaP@2017-08-10 |  | DTaP | next 4; dates 2018-09-10 2018-09-10 2019-03-09; vaccines 20 28
DTAP-CU [S1] 6 years, 3 DTaP then DT complete (2021)      | 2017-03-10 | 2024-06-01 | DTaP@2017-06-10 DTaP@2017-07-10 DTaP@2017-08-10 DT@2023-09-10 |  | DTaP | dose 4 valid; status Complete
DTAP-CU [S1] that child stays complete after 2025         | 2017-03-10 | 2025-06-01 | DTaP@2017-06-10 DTaP@2017-07-10 DTaP@2017-08-10 DT@2023-09-10 |  | DTaP | status Complete
POLIO-CU [S1] four IPV doses complete (no bOPV at 4)      | 2020-03-10 | 2024-06-01 | IPV@2020-05-10 IPV@2020-06-10 IPV@2020-07-10 IPV@2024-03-10 |  | Polio | dose 4 valid; status Complete
POLIO-CU [S1] under 4 years: 3 doses, 4th from 4 years    | 2021-03-10 | 2024-06-01 | IPV@2021-05-10 IPV@2021-06-10 bOPV@2021-07-10 |  | Polio | next 4; dates 2025-03-10 2025-03-10 2026-03-09
"#;

struct Row<'a> {
    rule: &'a str,
    birth: Date,
    assessment: Date,
    history: Vec<(&'a str, Date)>,
    observations: Vec<&'a str>,
    group: &'a str,
    checks: Vec<&'a str>,
}

fn date(text: &str) -> Date {
    Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap()
}

fn rows() -> Vec<Row<'static>> {
    ROWS.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('|').map(str::trim).collect();
            assert_eq!(cols.len(), 7, "row needs 7 columns: {line}");
            assert!(
                cols[0].contains(" [") && cols[0].contains(']'),
                "row must cite its source in brackets: {line}"
            );
            Row {
                rule: cols[0],
                birth: date(cols[1]),
                assessment: date(cols[2]),
                history: cols[3]
                    .split_whitespace()
                    .map(|item| {
                        let (code, when) = item.split_once('@').unwrap();
                        (code, date(when))
                    })
                    .collect(),
                observations: cols[4].split_whitespace().collect(),
                group: cols[5],
                checks: cols[6].split(';').map(str::trim).collect(),
            }
        })
        .collect()
}

fn check_row(schedule: &Schedule, row: &Row<'_>) -> Vec<String> {
    let mut patient = PatientHistory::new(row.birth);
    for (i, (code, when)) in row.history.iter().enumerate() {
        let cvx = schedule
            .resolve_product(code)
            .unwrap_or_else(|| panic!("{}: unknown product {code}", row.rule));
        patient.doses.push(DoseAdministered {
            id: format!("d{}", i + 1),
            date: *when,
            cvx,
            mvx: None,
        });
    }
    patient.observations = row
        .observations
        .iter()
        .map(|c| PatientObservation {
            code: (*c).to_owned(),
            date: None,
        })
        .collect();
    let result = forecast(schedule, &patient, row.assessment);
    let group = result.group(row.group);
    let show = |d: Option<Date>| d.map_or("-".to_owned(), |d| d.to_string());
    let mut problems = Vec::new();
    for check in &row.checks {
        let words: Vec<&str> = check.split_whitespace().collect();
        match words.as_slice() {
            ["dose", n, expected, reason @ ..] => {
                let index: usize = n.parse::<usize>().unwrap() - 1;
                let got = result.dose_status(index, row.group);
                let ok = match (*expected, got) {
                    ("valid", Some((EvalStatus::Valid, _))) => true,
                    ("extraneous", Some((EvalStatus::Extraneous, reasons))) => {
                        let wanted = reason.join(" ");
                        reasons.iter().any(|r| r.as_str() == wanted)
                    }
                    ("notvalid", Some((EvalStatus::NotValid, reasons))) => {
                        let wanted = reason.join(" ");
                        reasons.iter().any(|r| r.as_str() == wanted)
                    }
                    _ => false,
                };
                if !ok {
                    let got = got.map(|(s, r)| {
                        format!(
                            "{} {:?}",
                            s.as_str(),
                            r.iter().map(|r| r.as_str()).collect::<Vec<_>>()
                        )
                    });
                    problems.push(format!("{check}: got {got:?}"));
                }
            }
            ["status", status @ ..] => {
                let wanted = status.join(" ");
                let got = group.map(|g| g.status.as_str());
                if got != Some(wanted.as_str()) {
                    problems.push(format!("{check}: got {got:?}"));
                }
            }
            ["next", n] => {
                let got = group.and_then(|g| g.dose_number);
                if got != n.parse().ok() {
                    problems.push(format!("{check}: got {got:?}"));
                }
            }
            ["dates", earliest, recommended, past_due] => {
                let got = group.map(|g| (show(g.earliest), show(g.recommended), show(g.past_due)));
                let wanted = (
                    (*earliest).to_owned(),
                    (*recommended).to_owned(),
                    (*past_due).to_owned(),
                );
                if got.as_ref() != Some(&wanted) {
                    problems.push(format!("{check}: got {got:?}"));
                }
            }
            ["vaccines", codes @ ..] => {
                let wanted: Vec<u16> = codes.iter().map(|c| c.parse().unwrap()).collect();
                let got: Option<Vec<u16>> = group.map(|g| g.vaccines.iter().map(|c| c.0).collect());
                if got.as_deref() != Some(wanted.as_slice()) {
                    problems.push(format!("{check}: got {got:?}"));
                }
            }
            ["series", name @ ..] => {
                let wanted = name.join(" ");
                if !group.is_some_and(|g| g.series.contains(&wanted.as_str())) {
                    problems.push(format!("{check}: got {:?}", group.map(|g| &g.series)));
                }
            }
            _ => problems.push(format!("unknown check `{check}`")),
        }
    }
    problems
}

#[test]
fn china_schedule_rules() {
    let schedule = china_schedule();
    let mut failures = Vec::new();
    let all = rows();
    for row in &all {
        let problems = check_row(&schedule, row);
        if !problems.is_empty() {
            failures.push(format!("{}: {}", row.rule, problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn china_schedule_is_complete_data() {
    let schedule = china_schedule();
    for group in [
        "HepB",
        "BCG",
        "Polio",
        "DTaP",
        "MMR",
        "Japanese Encephalitis",
        "Meningococcal",
        "HepA",
    ] {
        assert!(
            schedule.vaccine_groups.iter().any(|g| g.name == group),
            "programme group {group}"
        );
    }
    for group in [
        "Hib",
        "Pneumococcal",
        "Rotavirus",
        "Varicella",
        "Influenza",
        "EV71",
    ] {
        assert!(
            schedule.vaccine_groups.iter().any(|g| g.name == group),
            "non-programme group {group}"
        );
    }
    // Every product of the table maps to a CVX the schedule knows.
    for product in &schedule.products {
        assert!(
            !schedule.antigens_of(product.cvx).is_empty(),
            "{} -> {} has no antigen",
            product.code,
            product.cvx
        );
    }
    assert_eq!(schedule.products.len(), 21);
}

#[test]
fn embedded_schedule_matches_the_directory() {
    let loaded = china_schedule();
    let embedded = Schedule::china().unwrap();
    assert_eq!(loaded.antigens.len(), embedded.antigens.len());
    assert_eq!(loaded.products, embedded.products);
    let rows = rows();
    let row = &rows[5];
    let mut patient = PatientHistory::new(row.birth);
    for (code, when) in &row.history {
        let cvx = loaded.resolve_product(code).unwrap();
        patient.doses.push(DoseAdministered {
            id: String::new(),
            date: *when,
            cvx,
            mvx: None,
        });
    }
    assert_eq!(
        forecast(&loaded, &patient, row.assessment),
        forecast(&embedded, &patient, row.assessment)
    );
}

/// HIV table (nip_2021_hiv_exposed_children.csv): bOPV is contraindicated for HIV-infected
/// children, so the bOPV doses of the polio series are recommended as IPV instead.
#[test]
fn hiv_infected_child_is_offered_ipv_instead_of_bopv() {
    let schedule = china_schedule();
    let mut patient = PatientHistory::new(date("2024-03-10"));
    for (i, when) in ["2024-05-10", "2024-06-10"].iter().enumerate() {
        patient.doses.push(DoseAdministered {
            id: format!("{i}"),
            date: date(when),
            cvx: tianshan_immunization::Cvx(10),
            mvx: None,
        });
    }
    patient.observations.push(PatientObservation {
        code: "CN011".into(),
        date: None,
    });
    let result = forecast(&schedule, &patient, date("2024-06-20"));
    let polio = result.group("Polio").unwrap();
    assert_eq!(polio.status.as_str(), "Not complete");
    assert_eq!(polio.vaccines, vec![tianshan_immunization::Cvx(10)]);
    assert_eq!(
        result.group("BCG").map(|g| g.status.as_str()),
        Some("Contraindicated")
    );
}
