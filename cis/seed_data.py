"""Lookup tables for demo data: Kanpur-like network names, Indian names and addresses."""

from __future__ import annotations

# ---------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------

# Given names common in Kanpur / Uttar Pradesh: (english, devanagari, gender "M"/"F").
FIRST_NAMES: tuple[tuple[str, str, str], ...] = (
    # Male: Hindu
    ("Ramesh", "रमेश", "M"),
    ("Suresh", "सुरेश", "M"),
    ("Mahesh", "महेश", "M"),
    ("Rajesh", "राजेश", "M"),
    ("Dinesh", "दिनेश", "M"),
    ("Mukesh", "मुकेश", "M"),
    ("Rakesh", "राकेश", "M"),
    ("Umesh", "उमेश", "M"),
    ("Naresh", "नरेश", "M"),
    ("Brijesh", "बृजेश", "M"),
    ("Kamlesh", "कमलेश", "M"),
    ("Yogesh", "योगेश", "M"),
    ("Santosh", "संतोष", "M"),
    ("Anil", "अनिल", "M"),
    ("Sunil", "सुनील", "M"),
    ("Manoj", "मनोज", "M"),
    ("Vinod", "विनोद", "M"),
    ("Pramod", "प्रमोद", "M"),
    ("Ashok", "अशोक", "M"),
    ("Vijay", "विजय", "M"),
    ("Sanjay", "संजय", "M"),
    ("Ajay", "अजय", "M"),
    ("Rahul", "राहुल", "M"),
    ("Amit", "अमित", "M"),
    ("Sumit", "सुमित", "M"),
    ("Rohit", "रोहित", "M"),
    ("Ankit", "अंकित", "M"),
    ("Vikas", "विकास", "M"),
    ("Deepak", "दीपक", "M"),
    ("Alok", "आलोक", "M"),
    ("Arvind", "अरविंद", "M"),
    ("Rajkumar", "राजकुमार", "M"),
    ("Shiv Kumar", "शिव कुमार", "M"),
    ("Om Prakash", "ओम प्रकाश", "M"),
    ("Ram Prakash", "राम प्रकाश", "M"),
    ("Shyam Sundar", "श्याम सुंदर", "M"),
    ("Radheshyam", "राधेश्याम", "M"),
    ("Ramkishore", "रामकिशोर", "M"),
    ("Gyanendra", "ज्ञानेंद्र", "M"),
    ("Shailendra", "शैलेंद्र", "M"),
    ("Dharmendra", "धर्मेंद्र", "M"),
    ("Jitendra", "जितेंद्र", "M"),
    ("Devendra", "देवेंद्र", "M"),
    ("Abhishek", "अभिषेक", "M"),
    ("Aditya", "आदित्य", "M"),
    ("Gaurav", "गौरव", "M"),
    ("Saurabh", "सौरभ", "M"),
    ("Prashant", "प्रशांत", "M"),
    ("Ravi", "रवि", "M"),
    ("Neeraj", "नीरज", "M"),
    ("Pankaj", "पंकज", "M"),
    ("Harish", "हरीश", "M"),
    ("Lalit", "ललित", "M"),
    ("Sachin", "सचिन", "M"),
    ("Vivek", "विवेक", "M"),
    ("Anuj", "अनुज", "M"),
    ("Shubham", "शुभम", "M"),
    # Male: Muslim
    ("Irfan", "इरफ़ान", "M"),
    ("Imran", "इमरान", "M"),
    ("Salman", "सलमान", "M"),
    ("Shahid", "शाहिद", "M"),
    ("Rizwan", "रिज़वान", "M"),
    ("Asif", "आसिफ़", "M"),
    ("Aslam", "असलम", "M"),
    ("Naseem", "नसीम", "M"),
    ("Arif", "आरिफ़", "M"),
    ("Faizan", "फ़ैज़ान", "M"),
    ("Javed", "जावेद", "M"),
    ("Wasim", "वसीम", "M"),
    ("Zubair", "ज़ुबैर", "M"),
    ("Nadeem", "नदीम", "M"),
    ("Shakeel", "शकील", "M"),
    # Male: Sikh
    ("Gurpreet", "गुरप्रीत", "M"),
    ("Harjeet", "हरजीत", "M"),
    ("Kuldeep", "कुलदीप", "M"),
    ("Manjeet", "मनजीत", "M"),
    ("Sukhwinder", "सुखविंदर", "M"),
    ("Balwinder", "बलविंदर", "M"),
    # Female: Hindu
    ("Sunita", "सुनीता", "F"),
    ("Anita", "अनीता", "F"),
    ("Geeta", "गीता", "F"),
    ("Seema", "सीमा", "F"),
    ("Rekha", "रेखा", "F"),
    ("Neelam", "नीलम", "F"),
    ("Poonam", "पूनम", "F"),
    ("Kiran", "किरण", "F"),
    ("Usha", "उषा", "F"),
    ("Asha", "आशा", "F"),
    ("Meena", "मीना", "F"),
    ("Savitri", "सावित्री", "F"),
    ("Kamla", "कमला", "F"),
    ("Shanti", "शांति", "F"),
    ("Pushpa", "पुष्पा", "F"),
    ("Sarita", "सरिता", "F"),
    ("Mamta", "ममता", "F"),
    ("Sangeeta", "संगीता", "F"),
    ("Kavita", "कविता", "F"),
    ("Babita", "बबीता", "F"),
    ("Anju", "अंजू", "F"),
    ("Manju", "मंजू", "F"),
    ("Renu", "रेनू", "F"),
    ("Suman", "सुमन", "F"),
    ("Priya", "प्रिया", "F"),
    ("Pooja", "पूजा", "F"),
    ("Neha", "नेहा", "F"),
    ("Shalini", "शालिनी", "F"),
    ("Preeti", "प्रीति", "F"),
    ("Jyoti", "ज्योति", "F"),
    ("Ritu", "रितु", "F"),
    ("Nisha", "निशा", "F"),
    ("Shweta", "श्वेता", "F"),
    ("Anjali", "अंजलि", "F"),
    ("Archana", "अर्चना", "F"),
    ("Vandana", "वंदना", "F"),
    ("Radha", "राधा", "F"),
    ("Sudha", "सुधा", "F"),
    ("Kusum", "कुसुम", "F"),
    ("Urmila", "उर्मिला", "F"),
    ("Madhu", "मधु", "F"),
    ("Saroj", "सरोज", "F"),
    ("Nirmala", "निर्मला", "F"),
    ("Laxmi", "लक्ष्मी", "F"),
    ("Parvati", "पार्वती", "F"),
    ("Rani", "रानी", "F"),
    ("Aarti", "आरती", "F"),
    ("Komal", "कोमल", "F"),
    ("Sapna", "सपना", "F"),
    ("Kalpana", "कल्पना", "F"),
    ("Ramdevi", "रामदेवी", "F"),
    ("Shobha", "शोभा", "F"),
    ("Rajni", "रजनी", "F"),
    ("Sheela", "शीला", "F"),
    ("Rachna", "रचना", "F"),
    # Female: Muslim
    ("Shabnam", "शबनम", "F"),
    ("Nasreen", "नसरीन", "F"),
    ("Rubina", "रुबीना", "F"),
    ("Shabana", "शबाना", "F"),
    ("Farzana", "फ़रज़ाना", "F"),
    ("Rukhsana", "रुख़साना", "F"),
    ("Nazma", "नज़मा", "F"),
    ("Tabassum", "तबस्सुम", "F"),
    ("Shaheen", "शाहीन", "F"),
    ("Ayesha", "आयशा", "F"),
    ("Fatima", "फ़ातिमा", "F"),
    ("Salma", "सलमा", "F"),
    ("Nazia", "नाज़िया", "F"),
    ("Zareena", "ज़रीना", "F"),
    # Female: Sikh
    ("Simran", "सिमरन", "F"),
    ("Harleen", "हरलीन", "F"),
    ("Gurleen", "गुरलीन", "F"),
)

# Surnames common in Kanpur / UP: (english, devanagari).
SURNAMES: tuple[tuple[str, str], ...] = (
    ("Sharma", "शर्मा"),
    ("Verma", "वर्मा"),
    ("Gupta", "गुप्ता"),
    ("Yadav", "यादव"),
    ("Tripathi", "त्रिपाठी"),
    ("Shukla", "शुक्ला"),
    ("Srivastava", "श्रीवास्तव"),
    ("Singh", "सिंह"),
    ("Dwivedi", "द्विवेदी"),
    ("Bajpai", "बाजपेयी"),
    ("Awasthi", "अवस्थी"),
    ("Kushwaha", "कुशवाहा"),
    ("Nishad", "निषाद"),
    ("Pal", "पाल"),
    ("Rajput", "राजपूत"),
    ("Agarwal", "अग्रवाल"),
    ("Kanaujia", "कनौजिया"),
    ("Dixit", "दीक्षित"),
    ("Mishra", "मिश्रा"),
    ("Pandey", "पांडेय"),
    ("Chaurasia", "चौरसिया"),
    ("Katiyar", "कटियार"),
    ("Sachan", "सचान"),
    ("Gautam", "गौतम"),
    ("Kori", "कोरी"),
    ("Valmiki", "वाल्मीकि"),
    ("Tiwari", "तिवारी"),
    ("Dubey", "दुबे"),
    ("Chaturvedi", "चतुर्वेदी"),
    ("Trivedi", "त्रिवेदी"),
    ("Agnihotri", "अग्निहोत्री"),
    ("Saxena", "सक्सेना"),
    ("Nigam", "निगम"),
    ("Khare", "खरे"),
    ("Asthana", "अस्थाना"),
    ("Bhatnagar", "भटनागर"),
    ("Mathur", "माथुर"),
    ("Jaiswal", "जायसवाल"),
    ("Omar", "ओमर"),
    ("Porwal", "पोरवाल"),
    ("Maheshwari", "माहेश्वरी"),
    ("Rastogi", "रस्तोगी"),
    ("Jain", "जैन"),
    ("Soni", "सोनी"),
    ("Sahu", "साहू"),
    ("Rathore", "राठौर"),
    ("Chauhan", "चौहान"),
    ("Tomar", "तोमर"),
    ("Bhadauria", "भदौरिया"),
    ("Sengar", "सेंगर"),
    ("Chandel", "चंदेल"),
    ("Gaur", "गौड़"),
    ("Patel", "पटेल"),
    ("Niranjan", "निरंजन"),
    ("Prajapati", "प्रजापति"),
    ("Kashyap", "कश्यप"),
    ("Diwakar", "दिवाकर"),
    ("Sonkar", "सोनकर"),
    ("Kureel", "कुरील"),
    ("Dohre", "दोहरे"),
    ("Baghel", "बघेल"),
    ("Lodhi", "लोधी"),
    ("Maurya", "मौर्य"),
    ("Shakya", "शाक्य"),
    ("Rawat", "रावत"),
    ("Bharti", "भारती"),
    ("Chaudhary", "चौधरी"),
    ("Kapoor", "कपूर"),
    ("Khanna", "खन्ना"),
    ("Arora", "अरोड़ा"),
    ("Malhotra", "मल्होत्रा"),
    ("Mehrotra", "मेहरोत्रा"),
    ("Tandon", "टंडन"),
    ("Ahuja", "आहूजा"),
    ("Chhabra", "छाबड़ा"),
    ("Bhalla", "भल्ला"),
    ("Kohli", "कोहली"),
    ("Sethi", "सेठी"),
    ("Gill", "गिल"),
    ("Sandhu", "संधू"),
    ("Bedi", "बेदी"),
    ("Khan", "ख़ान"),
    ("Ansari", "अंसारी"),
    ("Siddiqui", "सिद्दीक़ी"),
    ("Qureshi", "क़ुरैशी"),
    ("Hashmi", "हाशमी"),
    ("Rizvi", "रिज़वी"),
    ("Zaidi", "ज़ैदी"),
    ("Naqvi", "नक़वी"),
    ("Usmani", "उस्मानी"),
    ("Farooqui", "फ़ारूक़ी"),
    ("Mansoori", "मंसूरी"),
    ("Idrisi", "इदरीसी"),
    ("Alvi", "अल्वी"),
    ("Saifi", "सैफ़ी"),
    ("Malik", "मलिक"),
    ("Sheikh", "शेख़"),
    ("Ahmad", "अहमद"),
    ("Hussain", "हुसैन"),
)

# ---------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------

# Kanpur localities / mohallas and nearby kasbas and villages: (english, devanagari, kind).
LOCALITIES: tuple[tuple[str, str, str], ...] = (
    # Old city and central Kanpur
    ("Civil Lines", "सिविल लाइंस", "urban"),
    ("Mall Road", "माल रोड", "urban"),
    ("Parmat", "परमट", "urban"),
    ("Khalasi Line", "खलासी लाइन", "urban"),
    ("Gwaltoli", "ग्वालटोली", "urban"),
    ("Parade", "परेड", "urban"),
    ("Nayaganj", "नयागंज", "urban"),
    ("Collectorganj", "कलक्टरगंज", "urban"),
    ("Birhana Road", "बिरहाना रोड", "urban"),
    ("Moolganj", "मूलगंज", "urban"),
    ("Chowk", "चौक", "urban"),
    ("Bansmandi", "बांसमंडी", "urban"),
    ("Meston Road", "मेस्टन रोड", "urban"),
    ("Generalganj", "जनरलगंज", "urban"),
    ("Hatia", "हटिया", "urban"),
    ("Patkapur", "पटकापुर", "urban"),
    ("Sooterganj", "सूटरगंज", "urban"),
    ("Chaman Ganj", "चमनगंज", "urban"),
    ("Colonelganj", "कर्नलगंज", "urban"),
    ("Beconganj", "बेकनगंज", "urban"),
    ("Anwarganj", "अनवरगंज", "urban"),
    ("Cooperganj", "कूपरगंज", "urban"),
    ("Cantt", "कैंट", "urban"),
    ("Rail Bazar", "रेल बाज़ार", "urban"),
    # North and west Kanpur
    ("Swaroop Nagar", "स्वरूप नगर", "urban"),
    ("Tilak Nagar", "तिलक नगर", "urban"),
    ("Arya Nagar", "आर्य नगर", "urban"),
    ("Azad Nagar", "आज़ाद नगर", "urban"),
    ("Benajhabar", "बेनाझाबर", "urban"),
    ("Vishnupuri", "विष्णुपुरी", "urban"),
    ("Purana Kanpur", "पुराना कानपुर", "urban"),
    ("Nawabganj", "नवाबगंज", "urban"),
    ("Harsh Nagar", "हर्ष नगर", "urban"),
    ("Gumti No. 5", "गुमटी नं. 5", "urban"),
    ("Darshanpurwa", "दर्शनपुरवा", "urban"),
    ("Kaushalpuri", "कौशलपुरी", "urban"),
    ("Sisamau", "सीसामऊ", "urban"),
    ("Ashok Nagar", "अशोक नगर", "urban"),
    ("Kakadeo", "काकादेव", "urban"),
    ("Sharda Nagar", "शारदा नगर", "urban"),
    ("Geeta Nagar", "गीता नगर", "urban"),
    ("Pandu Nagar", "पांडु नगर", "urban"),
    ("Lajpat Nagar", "लाजपत नगर", "urban"),
    ("Vijay Nagar", "विजय नगर", "urban"),
    ("Shastri Nagar", "शास्त्री नगर", "urban"),
    ("Sarvodaya Nagar", "सर्वोदय नगर", "urban"),
    ("Rawatpur", "रावतपुर", "urban"),
    ("Kalyanpur", "कल्याणपुर", "urban"),
    ("Vikas Nagar", "विकास नगर", "urban"),
    ("Indira Nagar", "इंदिरा नगर", "urban"),
    ("Maswanpur", "मसवानपुर", "urban"),
    ("Nankari", "नानकारी", "urban"),
    ("Panki", "पनकी", "urban"),
    ("Armapur", "अर्मापुर", "urban"),
    ("Fazalganj", "फ़ज़लगंज", "urban"),
    ("Dada Nagar", "दादा नगर", "urban"),
    # South Kanpur
    ("Govind Nagar", "गोविंद नगर", "urban"),
    ("Ratan Lal Nagar", "रतन लाल नगर", "urban"),
    ("Gujaini", "गुजैनी", "urban"),
    ("Nauraiya Khera", "नौरैयाखेड़ा", "urban"),
    ("Transport Nagar", "ट्रांसपोर्ट नगर", "urban"),
    ("Barra", "बर्रा", "urban"),
    ("Damodar Nagar", "दामोदर नगर", "urban"),
    ("Jarauli", "जरौली", "urban"),
    ("Karrahi", "कर्रही", "urban"),
    ("Kidwai Nagar", "किदवई नगर", "urban"),
    ("Juhi", "जूही", "urban"),
    ("Babupurwa", "बाबूपुरवा", "urban"),
    ("Begumpurwa", "बेगमपुरवा", "urban"),
    ("Yashoda Nagar", "यशोदा नगर", "urban"),
    ("Keshav Nagar", "केशव नगर", "urban"),
    ("Naubasta", "नौबस्ता", "urban"),
    ("Hanspuram", "हंसपुरम", "urban"),
    ("Sanjay Gandhi Nagar", "संजय गांधी नगर", "urban"),
    # East Kanpur
    ("Jajmau", "जाजमऊ", "urban"),
    ("Defence Colony", "डिफेंस कॉलोनी", "urban"),
    ("Chakeri", "चकेरी", "urban"),
    ("Shyam Nagar", "श्याम नगर", "urban"),
    ("Ramadevi", "रामादेवी", "urban"),
    ("Lal Bangla", "लाल बंगला", "urban"),
    ("Harjinder Nagar", "हरजिंदर नगर", "urban"),
    ("Krishna Nagar", "कृष्णा नगर", "urban"),
    ("Gandhigram", "गांधीग्राम", "urban"),
    ("Ahirwan", "अहिरवां", "urban"),
    # Kanpur Nagar rural / peri-urban
    ("Bithoor", "बिठूर", "rural"),
    ("Mandhana", "मंधना", "rural"),
    ("Naramau", "नरामऊ", "rural"),
    ("Chaubepur", "चौबेपुर", "rural"),
    ("Shivrajpur", "शिवराजपुर", "rural"),
    ("Uttaripura", "उत्तरीपुरा", "rural"),
    ("Bilhaur", "बिल्हौर", "rural"),
    ("Kakwan", "ककवन", "rural"),
    ("Arual", "अरौल", "rural"),
    ("Bidhnu", "बिधनू", "rural"),
    ("Bhimsen", "भीमसेन", "rural"),
    ("Sarsaul", "सरसौल", "rural"),
    ("Maharajpur", "महाराजपुर", "rural"),
    ("Rooma", "रूमा", "rural"),
    ("Narwal", "नरवल", "rural"),
    ("Ghatampur", "घाटमपुर", "rural"),
    ("Patara", "पतारा", "rural"),
    ("Bhitargaon", "भीतरगांव", "rural"),
    ("Sachendi", "सचेंडी", "rural"),
    # Kanpur Dehat
    ("Akbarpur", "अकबरपुर", "rural"),
    ("Rura", "रूरा", "rural"),
    ("Jhinjhak", "झींझक", "rural"),
    ("Derapur", "डेरापुर", "rural"),
    ("Rasulabad", "रसूलाबाद", "rural"),
    ("Shivli", "शिवली", "rural"),
    ("Rania", "रनियां", "rural"),
    ("Pukhrayan", "पुखरायां", "rural"),
    ("Bhognipur", "भोगनीपुर", "rural"),
)

# Address parts used to build e.g. "House 117, Block C, Kidwai Nagar, Kanpur 208011".
STREET_KINDS: tuple[tuple[str, str], ...] = (
    ("Block", "ब्लॉक"),
    ("Sector", "सेक्टर"),
    ("Gali No.", "गली नं."),
    ("Mohalla", "मोहल्ला"),
    ("Road", "रोड"),
    ("Lane", "लेन"),
    ("Marg", "मार्ग"),
    ("Colony", "कॉलोनी"),
    ("Purwa", "पुरवा"),
    ("Phase", "फ़ेज़"),
    ("Near Chauraha", "चौराहे के पास"),
)

# PIN code per LOCALITIES english name (real ones where known, otherwise a neighbouring one).
PINCODES: dict[str, str] = {
    # Old city and central Kanpur
    "Civil Lines": "208001",
    "Mall Road": "208001",
    "Parmat": "208001",
    "Khalasi Line": "208001",
    "Gwaltoli": "208001",
    "Parade": "208001",
    "Nayaganj": "208001",
    "Collectorganj": "208001",
    "Birhana Road": "208001",
    "Moolganj": "208001",
    "Chowk": "208001",
    "Bansmandi": "208001",
    "Meston Road": "208001",
    "Generalganj": "208001",
    "Hatia": "208001",
    "Patkapur": "208001",
    "Sooterganj": "208001",
    "Chaman Ganj": "208001",
    "Colonelganj": "208001",
    "Beconganj": "208001",
    "Anwarganj": "208003",
    "Cooperganj": "208003",
    "Cantt": "208004",
    "Rail Bazar": "208004",
    # North and west Kanpur
    "Swaroop Nagar": "208002",
    "Tilak Nagar": "208002",
    "Arya Nagar": "208002",
    "Azad Nagar": "208002",
    "Benajhabar": "208002",
    "Vishnupuri": "208002",
    "Purana Kanpur": "208002",
    "Nawabganj": "208002",
    "Harsh Nagar": "208012",
    "Gumti No. 5": "208012",
    "Darshanpurwa": "208012",
    "Kaushalpuri": "208012",
    "Sisamau": "208012",
    "Ashok Nagar": "208012",
    "Kakadeo": "208025",
    "Sharda Nagar": "208025",
    "Geeta Nagar": "208025",
    "Pandu Nagar": "208005",
    "Lajpat Nagar": "208005",
    "Vijay Nagar": "208005",
    "Shastri Nagar": "208005",
    "Sarvodaya Nagar": "208005",
    "Rawatpur": "208019",
    "Kalyanpur": "208017",
    "Vikas Nagar": "208024",
    "Indira Nagar": "208026",
    "Maswanpur": "208017",
    "Nankari": "208016",
    "Panki": "208020",
    "Armapur": "208009",
    "Fazalganj": "208012",
    "Dada Nagar": "208022",
    # South Kanpur
    "Govind Nagar": "208006",
    "Ratan Lal Nagar": "208022",
    "Gujaini": "208022",
    "Nauraiya Khera": "208022",
    "Transport Nagar": "208023",
    "Barra": "208027",
    "Damodar Nagar": "208027",
    "Jarauli": "208027",
    "Karrahi": "208027",
    "Kidwai Nagar": "208011",
    "Juhi": "208014",
    "Babupurwa": "208023",
    "Begumpurwa": "208023",
    "Yashoda Nagar": "208011",
    "Keshav Nagar": "208014",
    "Naubasta": "208021",
    "Hanspuram": "208021",
    "Sanjay Gandhi Nagar": "208021",
    # East Kanpur
    "Jajmau": "208010",
    "Defence Colony": "208010",
    "Chakeri": "208008",
    "Shyam Nagar": "208013",
    "Ramadevi": "208007",
    "Lal Bangla": "208007",
    "Harjinder Nagar": "208007",
    "Krishna Nagar": "208007",
    "Gandhigram": "208007",
    "Ahirwan": "208007",
    # Kanpur Nagar rural / peri-urban
    "Bithoor": "209201",
    "Mandhana": "209217",
    "Naramau": "209217",
    "Chaubepur": "209203",
    "Shivrajpur": "209205",
    "Uttaripura": "209210",
    "Bilhaur": "209202",
    "Kakwan": "209202",
    "Arual": "209202",
    "Bidhnu": "209214",
    "Bhimsen": "209214",
    "Sarsaul": "209402",
    "Maharajpur": "209402",
    "Rooma": "209402",
    "Narwal": "209401",
    "Ghatampur": "209206",
    "Patara": "209206",
    "Bhitargaon": "209209",
    "Sachendi": "209304",
    # Kanpur Dehat
    "Akbarpur": "209101",
    "Rura": "209303",
    "Jhinjhak": "209302",
    "Derapur": "209301",
    "Rasulabad": "209306",
    "Shivli": "209204",
    "Rania": "209304",
    "Pukhrayan": "209111",
    "Bhognipur": "209111",
}

# ---------------------------------------------------------------------------
# Electrical network (zone > circle > division > sub-division > 33/11 kV substation > 11 kV feeder)
# ---------------------------------------------------------------------------

# Nesting of NETWORK:
#   Feeder      = (feeder_name, kind)                  kind is "urban" or "rural"
#   Substation  = (substation_name, (Feeder, ...))     e.g. "33/11 kV Kidwai Nagar"
#   SubDivision = (subdivision_name, (Substation, ...))
#   Division    = (name_en, name_hi, (SubDivision, ...))
#   Circle      = (circle_name, (Division, ...))
#   Zone        = (zone_name, (Circle, ...))
#   NETWORK     = (Zone, ...)
Feeder = tuple[str, str]
Substation = tuple[str, tuple[Feeder, ...]]
SubDivision = tuple[str, tuple[Substation, ...]]
Division = tuple[str, str, tuple[SubDivision, ...]]
Circle = tuple[str, tuple[Division, ...]]
Zone = tuple[str, tuple[Circle, ...]]

_U = "urban"
_R = "rural"


def _feeders(prefix: str, kind: str, *tails: str) -> tuple[Feeder, ...]:
    """Number the 11 kV feeders of one substation: ("Panki", U, "Site I") -> ("Panki F-1 Site I", U)."""
    return tuple((f"{prefix} F-{i} {tail}".rstrip(), kind) for i, tail in enumerate(tails, start=1))


NETWORK: tuple[Zone, ...] = (
    (
        "Kanpur",
        (
            (
                "KESCO Circle I",
                (
                    (
                        "Civil Lines",
                        "सिविल लाइंस",
                        (
                            (
                                "Civil Lines",
                                (
                                    (
                                        "33/11 kV Civil Lines",
                                        _feeders(
                                            "Civil Lines",
                                            _U,
                                            "Mall Road",
                                            "Collectorate",
                                            "Parmat",
                                            "Khalasi Line",
                                            "Sarsaiya Ghat",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Parade",
                                        _feeders(
                                            "Parade",
                                            _U,
                                            "Nayaganj",
                                            "Collectorganj",
                                            "Birhana Road",
                                            "Moolganj",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Meston Road",
                                        _feeders(
                                            "Meston Road",
                                            _U,
                                            "Chowk",
                                            "Bansmandi",
                                            "Generalganj",
                                            "Hatia",
                                            "Kotwali",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Gwaltoli",
                                (
                                    (
                                        "33/11 kV Gwaltoli",
                                        _feeders(
                                            "Gwaltoli",
                                            _U,
                                            "Patkapur",
                                            "Sooterganj",
                                            "McRobertganj",
                                            "Elgin Mills",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Cantt",
                                        _feeders(
                                            "Cantt",
                                            _U,
                                            "Sadar Bazar",
                                            "Rail Bazar",
                                            "Military Hospital",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Chaman Ganj",
                                        _feeders(
                                            "Chaman Ganj",
                                            _U,
                                            "Beconganj",
                                            "Colonelganj",
                                            "Anwarganj",
                                            "Cooperganj",
                                            "Talaq Mahal",
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                    (
                        "Swaroop Nagar",
                        "स्वरूप नगर",
                        (
                            (
                                "Swaroop Nagar",
                                (
                                    (
                                        "33/11 kV Swaroop Nagar",
                                        _feeders(
                                            "Swaroop Nagar",
                                            _U,
                                            "Motijheel",
                                            "Benajhabar",
                                            "Tilak Nagar",
                                            "Arya Nagar",
                                            "Azad Nagar",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Vishnupuri",
                                        _feeders(
                                            "Vishnupuri",
                                            _U,
                                            "Purana Kanpur",
                                            "Nawabganj",
                                            "Zoo Road",
                                            "Ganga Barrage",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Sisamau",
                                (
                                    (
                                        "33/11 kV Sisamau",
                                        _feeders(
                                            "Sisamau",
                                            _U,
                                            "Darshanpurwa",
                                            "Kaushalpuri",
                                            "Harsh Nagar",
                                            "Gumti No. 5",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Fazalganj",
                                        _feeders(
                                            "Fazalganj",
                                            _U,
                                            "Ashok Nagar",
                                            "Vijay Nagar",
                                            "Fazalganj Industrial",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Kakadeo",
                                (
                                    (
                                        "33/11 kV Kakadeo",
                                        _feeders(
                                            "Kakadeo",
                                            _U,
                                            "Coaching Mandi",
                                            "Sharda Nagar",
                                            "Geeta Nagar",
                                            "Pandu Nagar",
                                            "Sarvodaya Nagar",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Rawatpur",
                                        _feeders(
                                            "Rawatpur",
                                            _U,
                                            "Rawatpur Gaon",
                                            "Lajpat Nagar",
                                            "Shastri Nagar",
                                            "Medical College",
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                    (
                        "Kidwai Nagar",
                        "किदवई नगर",
                        (
                            (
                                "Kidwai Nagar",
                                (
                                    (
                                        "33/11 kV Kidwai Nagar",
                                        _feeders(
                                            "Kidwai Nagar",
                                            _U,
                                            "Block K",
                                            "Block H",
                                            "Block O",
                                            "Saket Nagar",
                                            "Babupurwa",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Juhi",
                                        _feeders(
                                            "Juhi",
                                            _U,
                                            "Juhi Colony",
                                            "Begumpurwa",
                                            "Keshav Nagar",
                                            "Railway Yard",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Naubasta",
                                (
                                    (
                                        "33/11 kV Naubasta",
                                        _feeders(
                                            "Naubasta",
                                            _U,
                                            "Hamirpur Road",
                                            "Basant Vihar",
                                            "Sanjay Gandhi Nagar",
                                            "Mandi Samiti",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Hanspuram",
                                        _feeders(
                                            "Hanspuram",
                                            _U,
                                            "Awas Vikas",
                                            "Yashoda Nagar",
                                            "Bypass",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Yashoda Nagar",
                                        _feeders(
                                            "Yashoda Nagar",
                                            _U,
                                            "Sector 1",
                                            "Sector 2",
                                            "Naubasta Gaon",
                                            "Kidwai Nagar Link",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Dada Nagar",
                                (
                                    (
                                        "33/11 kV Dada Nagar",
                                        _feeders(
                                            "Dada Nagar Industrial",
                                            _U,
                                            "Phase I",
                                            "Phase II",
                                            "Cold Storage",
                                            "Transport Nagar",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Ratan Lal Nagar",
                                        _feeders(
                                            "Ratan Lal Nagar",
                                            _U,
                                            "Block A",
                                            "Block B",
                                            "Nauraiya Khera",
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                    (
                        "Govind Nagar",
                        "गोविंद नगर",
                        (
                            (
                                "Govind Nagar",
                                (
                                    (
                                        "33/11 kV Govind Nagar",
                                        _feeders(
                                            "Govind Nagar",
                                            _U,
                                            "Block 8",
                                            "Block 10",
                                            "Chawla Market",
                                            "Dabauli",
                                            "Shivaji Nagar",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Gujaini",
                                        _feeders(
                                            "Gujaini",
                                            _U,
                                            "Block A",
                                            "Ramganga Enclave",
                                            "Kalpi Road",
                                            "Gujaini Gaon",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Barra",
                                (
                                    (
                                        "33/11 kV Barra",
                                        _feeders(
                                            "Barra",
                                            _U,
                                            "Barra 2",
                                            "Barra 6",
                                            "Barra 8",
                                            "Vishwa Bank",
                                            "Karrahi",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Jarauli",
                                        _feeders(
                                            "Jarauli",
                                            _U,
                                            "Phase I",
                                            "Phase II",
                                            "Damodar Nagar",
                                            "Bypass",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Barra World Bank",
                                        _feeders(
                                            "Barra World Bank",
                                            _U,
                                            "Sector H",
                                            "Sector J",
                                            "Hamirpur Road",
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
            (
                "KESCO Circle II",
                (
                    (
                        "Kalyanpur",
                        "कल्याणपुर",
                        (
                            (
                                "Kalyanpur",
                                (
                                    (
                                        "33/11 kV Kalyanpur",
                                        _feeders(
                                            "Kalyanpur",
                                            _U,
                                            "Gurdev",
                                            "Kalyanpur Gaon",
                                            "Awas Vikas 1",
                                            "Awas Vikas 3",
                                            "Maswanpur",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Indira Nagar",
                                        _feeders(
                                            "Indira Nagar",
                                            _U,
                                            "Sector A",
                                            "Sector C",
                                            "Rawatpur Station",
                                            "Defence Estate",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Vikas Nagar",
                                        _feeders(
                                            "Vikas Nagar",
                                            _U,
                                            "Sector 1",
                                            "Sector 3",
                                            "Ambedkarpuram",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Nankari",
                                (
                                    (
                                        "33/11 kV Nankari",
                                        _feeders(
                                            "Nankari",
                                            _U,
                                            "IIT Gate",
                                            "Nankari Gaon",
                                            "Bara Sirohi",
                                            "Kalyanpur Kalan",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Shivli Road",
                                        _feeders(
                                            "Shivli Road",
                                            _U,
                                            "Mandhana Crossing",
                                            "Kulgaon",
                                            "Bhaunti",
                                            "Khyora",
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                    (
                        "Panki",
                        "पनकी",
                        (
                            (
                                "Panki",
                                (
                                    (
                                        "33/11 kV Panki",
                                        _feeders(
                                            "Panki",
                                            _U,
                                            "Ratanpur",
                                            "Panki Mandir",
                                            "Gangaganj",
                                            "Power House Colony",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Panki Industrial Area",
                                        _feeders(
                                            "Panki Industrial",
                                            _U,
                                            "Site I",
                                            "Site II",
                                            "Site III",
                                            "Site V",
                                            "Dadanagar Link",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Armapur",
                                (
                                    (
                                        "33/11 kV Armapur",
                                        _feeders(
                                            "Armapur",
                                            _U,
                                            "Ordnance Estate",
                                            "Kalyanpur Link",
                                            "OF Colony",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Vijay Nagar",
                                        _feeders(
                                            "Vijay Nagar",
                                            _U,
                                            "Shastri Chowk",
                                            "Kalpi Road",
                                            "Vijay Nagar Gaon",
                                            "Industrial Estate",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Kalpi Road",
                                        _feeders(
                                            "Kalpi Road",
                                            _U,
                                            "Bhauti",
                                            "Sachendi Link",
                                            "Fazalganj Link",
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                    (
                        "Jajmau",
                        "जाजमऊ",
                        (
                            (
                                "Jajmau",
                                (
                                    (
                                        "33/11 kV Jajmau",
                                        _feeders(
                                            "Jajmau",
                                            _U,
                                            "Tannery Zone",
                                            "Jajmau Kila",
                                            "Sheikhpur",
                                            "Defence Colony",
                                            "Buddhiya Ghat",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Wajidpur",
                                        _feeders(
                                            "Wajidpur",
                                            _U,
                                            "Pokharpur",
                                            "Tannery Cluster",
                                            "Ganga Bank",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Chakeri",
                                (
                                    (
                                        "33/11 kV Chakeri",
                                        _feeders(
                                            "Chakeri",
                                            _U,
                                            "Airport",
                                            "Ahirwan",
                                            "Gandhigram",
                                            "Sanigawan",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Ramadevi",
                                        _feeders(
                                            "Ramadevi",
                                            _U,
                                            "Koyla Nagar",
                                            "Harjinder Nagar",
                                            "Lal Bangla Link",
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                    (
                        "Shyam Nagar",
                        "श्याम नगर",
                        (
                            (
                                "Shyam Nagar",
                                (
                                    (
                                        "33/11 kV Shyam Nagar",
                                        _feeders(
                                            "Shyam Nagar",
                                            _U,
                                            "Block A",
                                            "Block D",
                                            "Block F",
                                            "Chakeri Road",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Krishna Nagar",
                                        _feeders(
                                            "Krishna Nagar",
                                            _U,
                                            "Market",
                                            "Railway Colony",
                                            "Cantt Link",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Lal Bangla",
                                (
                                    (
                                        "33/11 kV Lal Bangla",
                                        _feeders(
                                            "Lal Bangla",
                                            _U,
                                            "Bazaar",
                                            "Airforce Road",
                                            "HAL Colony",
                                            "Jajmau Road",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Harjinder Nagar",
                                        _feeders(
                                            "Harjinder Nagar",
                                            _U,
                                            "Subhash Nagar",
                                            "Purana Harjinder Nagar",
                                            "Sati Chaura",
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
            (
                "Kanpur Rural Circle",
                (
                    (
                        "Bithoor (Rural)",
                        "बिठूर (ग्रामीण)",
                        (
                            (
                                "Bithoor",
                                (
                                    (
                                        "33/11 kV Bithoor",
                                        _feeders(
                                            "Bithoor Rural",
                                            _R,
                                            "Town",
                                            "Ghat Road",
                                            "Singhpur",
                                            "PTW",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Mandhana",
                                        _feeders(
                                            "Mandhana Rural",
                                            _R,
                                            "Town",
                                            "Naramau",
                                            "Abadi",
                                            "PTW",
                                            "Kalyanpur Kalan",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Chaubepur",
                                (
                                    (
                                        "33/11 kV Chaubepur",
                                        _feeders(
                                            "Chaubepur Rural",
                                            _R,
                                            "Town",
                                            "Uttaripura",
                                            "Abadi",
                                            "PTW",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Shivrajpur",
                                        _feeders(
                                            "Shivrajpur Rural",
                                            _R,
                                            "Town",
                                            "Abadi",
                                            "PTW",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Bilhaur",
                                (
                                    (
                                        "33/11 kV Bilhaur",
                                        _feeders(
                                            "Bilhaur Rural",
                                            _R,
                                            "Town",
                                            "Arual",
                                            "Abadi",
                                            "PTW",
                                            "Makanpur",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Kakwan",
                                        _feeders(
                                            "Kakwan Rural",
                                            _R,
                                            "Abadi",
                                            "PTW",
                                            "Mixed",
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                    (
                        "Ghatampur (Rural)",
                        "घाटमपुर (ग्रामीण)",
                        (
                            (
                                "Ghatampur",
                                (
                                    (
                                        "33/11 kV Ghatampur",
                                        _feeders(
                                            "Ghatampur Rural",
                                            _R,
                                            "Town",
                                            "Abadi",
                                            "PTW",
                                            "Kushmanda",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Patara",
                                        _feeders(
                                            "Patara Rural",
                                            _R,
                                            "Abadi",
                                            "PTW",
                                            "Mixed",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Bhitargaon",
                                        _feeders(
                                            "Bhitargaon Rural",
                                            _R,
                                            "Abadi",
                                            "PTW",
                                            "Mixed",
                                            "Temple",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Bidhnu",
                                (
                                    (
                                        "33/11 kV Bidhnu",
                                        _feeders(
                                            "Bidhnu Rural",
                                            _R,
                                            "Town",
                                            "Bhimsen",
                                            "Abadi",
                                            "PTW",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Narwal",
                                        _feeders(
                                            "Narwal Rural",
                                            _R,
                                            "Town",
                                            "Abadi",
                                            "PTW",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Sarsaul",
                                (
                                    (
                                        "33/11 kV Sarsaul",
                                        _feeders(
                                            "Sarsaul Rural",
                                            _R,
                                            "Town",
                                            "Abadi",
                                            "PTW",
                                            "Mixed",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Maharajpur",
                                        _feeders(
                                            "Maharajpur Rural",
                                            _R,
                                            "Town",
                                            "Abadi",
                                            "PTW",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Rooma",
                                        _feeders(
                                            "Rooma Rural",
                                            _R,
                                            "Industrial",
                                            "Abadi",
                                            "PTW",
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                    (
                        "Akbarpur (Rural)",
                        "अकबरपुर (ग्रामीण)",
                        (
                            (
                                "Akbarpur",
                                (
                                    (
                                        "33/11 kV Akbarpur",
                                        _feeders(
                                            "Akbarpur Rural",
                                            _R,
                                            "Town",
                                            "Collectorate",
                                            "Abadi",
                                            "PTW",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Rura",
                                        _feeders(
                                            "Rura Rural",
                                            _R,
                                            "Town",
                                            "Abadi",
                                            "PTW",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Sachendi",
                                (
                                    (
                                        "33/11 kV Sachendi",
                                        _feeders(
                                            "Sachendi Rural",
                                            _R,
                                            "Town",
                                            "Abadi",
                                            "PTW",
                                            "Mixed",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Rania",
                                        _feeders(
                                            "Rania Rural",
                                            _R,
                                            "Industrial",
                                            "Abadi",
                                            "PTW",
                                        ),
                                    ),
                                ),
                            ),
                            (
                                "Pukhrayan",
                                (
                                    (
                                        "33/11 kV Pukhrayan",
                                        _feeders(
                                            "Pukhrayan Rural",
                                            _R,
                                            "Town",
                                            "Abadi",
                                            "PTW",
                                            "Mixed",
                                        ),
                                    ),
                                    (
                                        "33/11 kV Bhognipur",
                                        _feeders(
                                            "Bhognipur Rural",
                                            _R,
                                            "Town",
                                            "Abadi",
                                            "PTW",
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        ),
    ),
)

# ---------------------------------------------------------------------------
# Meters and complaints
# ---------------------------------------------------------------------------

# Electricity meter makes commonly installed in UP.
MAKES: tuple[str, ...] = (
    "Secure",
    "L&T",
    "Genus",
    "HPL",
    "Landis+Gyr",
    "Linkwell",
    "Allied",
    "Avon",
    "Capital",
    "EDMI",
    "Schneider",
    "Elster",
)

# Short complaint texts as consumers or call-centre agents type them, by complaint category.
COMPLAINT_TEXTS: dict[str, tuple[str, ...]] = {
    "no_supply": (
        "No supply since morning in whole gali",
        "Light gayi hai 4 ghante se, transformer ke paas awaaz aayi thi",
        "Only my house has no power, neighbours have supply",
        "One phase missing since last night",
        "Supply off in whole mohalla after rain, fuse gone at pole",
    ),
    "voltage": (
        "Very low voltage in evening, fan and cooler not running",
        "Voltage fluctuating, bulbs flickering since two days",
        "High voltage, TV and fridge got damaged",
        "Low voltage at tail end of line, AC trips",
    ),
    "meter": (
        "Meter display blank",
        "Meter running fast even when main switch is off",
        "Meter burnt, smell of burning from meter box",
        "Smart meter disconnected supply even after recharge",
        "Meter seal broken, please replace meter",
    ),
    "billing": (
        "Bill amount too high, reading not taken",
        "Bill not received for last two months",
        "Payment done online but not updated in bill",
        "Wrong load shown on bill, sanctioned load is 2 kW",
        "Average bill raised though meter is working",
    ),
    "dangerous_line": (
        "Wire hanging low over the road near school",
        "Pole leaning after storm, may fall on houses",
        "Sparking at pole near main market",
        "Transformer oil leaking and fencing broken",
        "Earthing wire cut, current coming in pole",
    ),
    "theft": (
        "Katiya connection from pole in our gali",
        "Neighbour running motor by direct hooking from LT line",
        "Meter bypass suspected at shop near chauraha",
        "Illegal connections on transformer for e-rickshaw charging",
    ),
}
