"""Word lists the generators draw from: names, places, clinical phrases, the clinic's
appointment types, practitioners, referring doctors and third-party payers.
"""

FIRST_NAMES = [
    ("Olivia", "olivia"),
    ("Jack", "jack"),
    ("Charlotte", "charlotte"),
    ("William", "william"),
    ("Mia", "mia"),
    ("Noah", "noah"),
    ("Amelia", "amelia"),
    ("Oliver", "oliver"),
    ("Isla", "isla"),
    ("Thomas", "thomas"),
    ("Grace", "grace"),
    ("Lachlan", "lachlan"),
    ("Chloe", "chloe"),
    ("Liam", "liam"),
    ("Ruby", "ruby"),
    ("Ethan", "ethan"),
    ("Sophie", "sophie"),
    ("James", "james"),
    ("Emily", "emily"),
    ("Harry", "harry"),
    ("Jane", "jane"),
    ("Peter", "peter"),
    ("Margaret", "margaret"),
    ("Robert", "robert"),
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Siobhán", "siobhan"),
    ("Renée", "renee"),
    ("Chloé", "chloe"),
    ("Søren", "soren"),
    ("Björn", "bjorn"),
    ("Anaïs", "anais"),
    ("Łukasz", "lukasz"),
    ("Priya", "priya"),
    ("Aroha", "aroha"),
    ("Mohammed", "mohammed"),
    ("Fatima", "fatima"),
    ("Wei", "wei"),
    ("Thanh", "thanh"),
    ("Ngọc Anh", "ngocanh"),
    ("Hemi", "hemi"),
    ("Seán", "sean"),
    ("Niamh", "niamh"),
    ("François", "francois"),
    ("Ana", "ana"),
    ("Leilani", "leilani"),
    ("Yuki", "yuki"),
    ("Matías", "matias"),
    ("Ioana", "ioana"),
    ("Dmitri", "dmitri"),
]
LAST_NAMES = [
    ("Smith", "smith"),
    ("Jones", "jones"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("Wilson", "wilson"),
    ("Taylor", "taylor"),
    ("Johnson", "johnson"),
    ("White", "white"),
    ("Martin", "martin"),
    ("Anderson", "anderson"),
    ("Thompson", "thompson"),
    ("Nguyen", "nguyen"),
    ("Nguyễn", "nguyen"),
    ("Trần", "tran"),
    ("Lê", "le"),
    ("Ōtsuka", "otsuka"),
    ("O'Brien", "obrien"),
    ("Ó Súilleabháin", "osuilleabhain"),
    ("MacDonald", "macdonald"),
    ("van der Berg", "vanderberg"),
    ("Müller", "muller"),
    ("García", "garcia"),
    ("Kowalski", "kowalski"),
    ("Papadopoulos", "papadopoulos"),
    ("Singh", "singh"),
    ("Patel", "patel"),
    ("Kaur", "kaur"),
    ("Rossi", "rossi"),
    ("Ngata", "ngata"),
    ("Te Rangi", "terangi"),
    ("Walker", "walker"),
    ("Hall", "hall"),
    ("Young", "young"),
    ("King", "king"),
    ("Wright", "wright"),
    ("Scott", "scott"),
    ("Green", "green"),
    ("Baker", "baker"),
    ("Mitchell", "mitchell"),
    ("Campbell", "campbell"),
    ("Kelly", "kelly"),
    ("Murphy", "murphy"),
    ("Ryan", "ryan"),
    ("Chen", "chen"),
    ("Kim", "kim"),
    ("Park", "park"),
    ("Lee", "lee"),
    ("de la Cruz", "delacruz"),
    ("Smith-Jones", "smithjones"),
    ("Doe", "doe"),
]
# fmt: on
# fmt: off
NICKNAMES = {
    "William": "Will", "Margaret": "Maggie", "Robert": "Bob", "Thomas": "Tom", "James": "Jim",
    "Charlotte": "Lottie", "Oliver": "Ollie", "Lachlan": "Lachie", "Amelia": "Millie",
    "Peter": "Pete", "Emily": "Em", "Mohammed": "Mo", "Siobhán": "Shiv", "Łukasz": "Luke",
    "Dmitri": "Dima", "Matías": "Mati", "Zoë": "Zo",
}
# fmt: on
# about one patient in five has a name that is not plain ASCII
FIRST_NAMES_PLAIN = [n for n in FIRST_NAMES if n[0].isascii()]
FIRST_NAMES_ACCENTED = [n for n in FIRST_NAMES if not n[0].isascii()]
LAST_NAMES_PLAIN = [n for n in LAST_NAMES if n[0].isascii()]
LAST_NAMES_ACCENTED = [n for n in LAST_NAMES if not n[0].isascii()]
# (first, last, ascii first, ascii last)
# fmt: off
CJK_NAMES = [
    ("芳", "王", "fang", "wang"), ("伟", "张", "wei", "zhang"), ("秀英", "李", "xiuying", "li"),
    ("花子", "佐藤", "hanako", "sato"), ("민준", "김", "minjun", "kim"),
]
TITLES = [
    "", "", "", "", "", "", "Mr", "Mrs", "Ms", "Miss", "Dr", "Mx", "Mr.", "Prof",
]
EMAIL_DOMAINS = [
    "example.com", "example.net", "example.org", "mail.example.com", "inbox.example.net",
    "example.com.au",
]
INVALID_EMAILS = [
    "jane@", "not an email", "bob@gmail", "mary at example.com", "n/a",
]
UNPARSEABLE_PHONES = [
    "ask reception", "12", "n/a", "see notes", "000",
]
AU_MOBILE_PREFIXES = [
    "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15",
    "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
    "32", "33", "34", "35", "38", "39", "60", "61", "66", "67", "68", "69",
]
# fmt: on
# (city, state as typed, post code)
# fmt: off
AU_PLACES = [
    ("Melbourne", "VIC", "3000"), ("Fitzroy", "Victoria", "3065"), ("Richmond", "VIC", "3121"),
    ("Brunswick", "Vic", "3056"), ("Carlton North", "VIC", "3054"), ("St Kilda", "VIC", "3182"),
    ("Collingwood", "Victoria", "3066"), ("Northcote", "VIC", "3070"), ("Geelong", "VIC", "3220"),
    ("Ballarat", "Victoria", "3350"), ("Sydney", "NSW", "2000"),
    ("Bondi", "New South Wales", "2026"), ("Newtown", "NSW", "2042"), ("Brisbane", "QLD", "4000"),
    ("Perth", "WA", "6000"), ("Hobart", "Tasmania", "7000"), ("Adelaide", "SA", "5000"),
    ("Canberra", "ACT", "2600"),
]
INTERNATIONAL_PLACES = [
    ("London", "", "SE1 2PF", "United Kingdom", "GB"),
    ("Auckland", "Auckland", "1011", "New Zealand", "NZ"),
    ("Wellington", "", "6011", "New Zealand", "NZ"),
]
STREETS = [
    "Smith Street", "Brunswick St", "Lygon Street", "Chapel St", "High Street", "Sydney Road",
    "Nicholson Street", "Station St", "Church Street", "Queens Parade", "Johnston St",
    "Gertrude Street", "Rathdowne St", "Swan Street", "Victoria Pde",
]
OCCUPATIONS = [
    "Teacher", "Nurse", "Software developer", "Retired", "Student", "Electrician", "Barista",
    "Accountant", "Chef", "Builder", "Graphic designer", "Lawyer",
]
# fmt: on
PATIENT_NOTES = [
    "Prefers afternoon appointments.",
    "Parking at rear — ask for the gate code.\nHard of hearing, speak clearly.",
    "Pays by card only.",
    "Interpreter needed (Vietnamese).",
    "Referred by her sister.\r\nLikes to be called in the car park when ready.",
    "Do NOT book with Tom — conflict of interest.",
    "Needs ground-floor room (walker).",
]
MEDICAL_ALERTS = [
    "Allergic to latex",
    "Pacemaker — no TENS",
    "Type 2 diabetes",
    "Anticoagulants (warfarin)",
    "Osteoporosis",
    "Epilepsy",
    "Pregnant (2nd trimester)",
    "Anaphylaxis: peanuts — EpiPen in bag",
]
COMPLAINTS = [
    "Lower back pain after gardening",
    "Right shoulder pain reaching overhead",
    "Left knee swelling after running",
    "Neck stiffness and headaches (desk work)",
    "Ankle sprain playing netball",
    "Hip pain climbing stairs",
    "Tennis elbow (R)",
    "Post-op ACL rehab, week 6",
    "Plantar fasciitis, worse first thing in the morning",
]
TREATMENTS = [
    "Soft tissue massage to upper traps, thoracic mobilisation grade III.",
    "Dry needling L glute med x2, lumbar rotations.",
    "Taping for patellar tracking.",
    "Graded loading programme reviewed; progressed to single-leg squats.",
    "Education re: pacing & sleep; heat pack 10 min.",
]
# fmt: off
REGIONS = [
    "Neck", "Shoulder", "Upper back", "Lower back", "Hip", "Knee", "Ankle/foot",
]
# fmt: on
LONG_NOTE_SENTENCES = [
    "Pt reports pain reduced from 7/10 to 4/10 since the last session; sleep improving.",
    "Observed antalgic gait on arrival, resolved after 10 min of mobility work.",
    "ROM: flexion 110°, extension 20°, abduction 95° with painful arc 70–110°.",
    "Discussed work set-up: monitor raised, chair height adjusted, breaks every 45 min.",
    "Strength 4/5 hip abductors (L) &lt; (R); reviewed clamshells &amp; side bridges.",
    "<b>Plan:</b> continue HEP, progress load by ~10% weekly if pain &lt; 3/10 next day.",
    "Explained the difference between hurt and harm; pt receptive, questions answered.",
    "Manual therapy: PA glides T4–T8, soft tissue release to levator scapulae.",
    "Pt asked about imaging — not indicated at this stage, will review in 2 weeks.",
    "Liaised with GP (Dr Patel) re: medication; letter to follow.<br>No red flags.",
    "Taping applied for proprioceptive feedback; skin checked, no reaction last time.",
    "Pt will trial walking 20 min daily on flat ground, avoid hills for now.",
]
# fmt: off
COMMUNICATION_REPLIES = [
    "Y", "Yes thanks", "Running 5 min late sorry!", "Can I move to 3pm?", "N", "👍",
]
COLORS = [
    "#2E86DE", "#10AC84", "#F39C12", "#8E44AD", "#E84393", "#0BF", "#C0392B", "#16A085",
]
# fmt: on

# name, category, minutes, color index, max attendees, price cents, item code, taxed
APPOINTMENT_TYPES = [
    ("Initial Consultation", "Physiotherapy", 60, 0, 1, 12000, "500", False),
    ("Standard Consultation", "Physiotherapy", 30, 1, 1, 9000, "505", False),
    ("Clinical Pilates Class", "Pilates", 55, 4, 6, 3500, "PIL", False),
    ("Hydrotherapy (pool)", "Physiotherapy", 45, 7, 1, 8000, "560", False),
    ("Extended Consultation", "Physiotherapy", 45, 2, 1, 11000, "506", False),
    ("Remedial Massage (60 min)", "Massage", 60, 3, 1, 10500, "RM60", True),
    ("Telehealth Review", "Physiotherapy", 30, 5, 1, 8500, "TH1", False),
    ("Dry Needling Add-on", None, 15, 6, 1, 3000, "DN", False),
]
# fmt: off
PRACTITIONER_POOL = [
    ("Dr", "Sarah", "Okafor", "Physiotherapist"), ("", "Tom", "Brennan", "Physiotherapist"),
    ("", "Mei", "Lin", "Remedial Massage Therapist"), ("Dr", "Aroha", "Ngata", "Osteopath"),
    ("", "Lukas", "Schmidt", "Exercise Physiologist"), ("", "Priya", "Raman", "Physiotherapist"),
    ("", "Jess", "O'Connor", "Myotherapist"), ("", "Ben", "Carter", "Pilates Instructor"),
]
CLINIC_NAMES = [
    ("Fitzroy Physio & Wellness", "fitzroy-physio"),
    ("Northside Allied Health", "northside-allied"),
    ("Bayside Sports Physiotherapy", "bayside-sports-physio"),
    ("Harbour Osteo & Pilates", "harbour-osteo"),
]
DOCTORS = [
    ("Dr", "Anil", "Patel", "Brunswick Medical Centre", "general_practitioner"),
    ("Dr", "Helen", "Zhou", "Carlton Family Practice", "general_practitioner"),
    ("Dr", "Michael", "O'Sullivan", "Melbourne Orthopaedic Group", "specialist"),
    ("Dr", "Fiona", "McKenzie", "Northcote GP Clinic", ""),
    ("Dr", "Tuấn", "Phạm", "Footscray Medical", "general_practitioner"),
    ("Dr", "Rachel", "Goldberg", "Sports Med Victoria", "specialist"),
]
PAYERS = [
    ("Bupa", "claims@bupa.example.com"), ("Medibank Private", "claims@medibank.example.com"),
    ("WorkSafe Victoria", "invoices@worksafe.example.vic.gov.au"),
    ("Department of Veterans' Affairs", None), ("TAC", "providers@tac.example.vic.gov.au"),
]
# fmt: on
