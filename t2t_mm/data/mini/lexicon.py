"""The lexicon of the mini grammar: English, German and French words with their grammar.

Nouns: (english sg, english pl, german sg, german pl, german gender, german weak?,
        french sg, french pl, french gender). German nouns are capitalized, as written.
"""

NOUNS = {
    # Animate nouns (may be subjects).
    "dog": ("dog", "dogs", "Hund", "Hunde", "m", False, "chien", "chiens", "m"),
    "cat": ("cat", "cats", "Katze", "Katzen", "f", False, "chat", "chats", "m"),
    "horse": ("horse", "horses", "Pferd", "Pferde", "n", False, "cheval", "chevaux", "m"),
    "bird": ("bird", "birds", "Vogel", "Vögel", "m", False, "oiseau", "oiseaux", "m"),
    "mouse": ("mouse", "mice", "Maus", "Mäuse", "f", False, "souris", "souris", "f"),
    "child": ("child", "children", "Kind", "Kinder", "n", False, "enfant", "enfants", "m"),
    "woman": ("woman", "women", "Frau", "Frauen", "f", False, "femme", "femmes", "f"),
    "man": ("man", "men", "Mann", "Männer", "m", False, "homme", "hommes", "m"),
    "teacher": ("teacher", "teachers", "Lehrer", "Lehrer", "m", False,
                "professeur", "professeurs", "m"),
    "girl": ("girl", "girls", "Mädchen", "Mädchen", "n", False, "fille", "filles", "f"),
    "boy": ("boy", "boys", "Junge", "Jungen", "m", True, "garçon", "garçons", "m"),
    # Things.
    "book": ("book", "books", "Buch", "Bücher", "n", False, "livre", "livres", "m"),
    "apple": ("apple", "apples", "Apfel", "Äpfel", "m", False, "pomme", "pommes", "f"),
    "car": ("car", "cars", "Auto", "Autos", "n", False, "voiture", "voitures", "f"),
    "letter": ("letter", "letters", "Brief", "Briefe", "m", False, "lettre", "lettres", "f"),
    "ball": ("ball", "balls", "Ball", "Bälle", "m", False, "balle", "balles", "f"),
    "flower": ("flower", "flowers", "Blume", "Blumen", "f", False, "fleur", "fleurs", "f"),
    "bread": ("bread", "breads", "Brot", "Brote", "n", False, "pain", "pains", "m"),
    "fish": ("fish", "fish", "Fisch", "Fische", "m", False, "poisson", "poissons", "m"),
    # Places (objects of prepositions, also things).
    "house": ("house", "houses", "Haus", "Häuser", "n", False, "maison", "maisons", "f"),
    "table": ("table", "tables", "Tisch", "Tische", "m", False, "table", "tables", "f"),
    "tree": ("tree", "trees", "Baum", "Bäume", "m", False, "arbre", "arbres", "m"),
    "garden": ("garden", "gardens", "Garten", "Gärten", "m", False, "jardin", "jardins", "m"),
    "city": ("city", "cities", "Stadt", "Städte", "f", False, "ville", "villes", "f"),
    "river": ("river", "rivers", "Fluss", "Flüsse", "m", False, "rivière", "rivières", "f"),
}
ANIMATE = ["dog", "cat", "horse", "bird", "mouse", "child", "woman", "man", "teacher", "girl",
           "boy"]
THINGS = ["book", "apple", "car", "letter", "ball", "flower", "bread", "fish", "house", "table",
          "tree"]
PLACES = ["house", "table", "tree", "garden", "city", "river", "car"]

# english: (german stem, french m sg, french f sg, french m pl, french f pl, french prenominal?)
ADJECTIVES = {
    "big": ("groß", "grand", "grande", "grands", "grandes", True),
    "small": ("klein", "petit", "petite", "petits", "petites", True),
    "old": ("alt", "vieux", "vieille", "vieux", "vieilles", True),
    "young": ("jung", "jeune", "jeune", "jeunes", "jeunes", True),
    "new": ("neu", "nouveau", "nouvelle", "nouveaux", "nouvelles", True),
    "red": ("rot", "rouge", "rouge", "rouges", "rouges", False),
    "black": ("schwarz", "noir", "noire", "noirs", "noires", False),
    "white": ("weiß", "blanc", "blanche", "blancs", "blanches", False),
    "green": ("grün", "vert", "verte", "verts", "vertes", False),
    "happy": ("glücklich", "heureux", "heureuse", "heureux", "heureuses", False),
}

# english base: (english 3sg, german 3sg, german 3pl, french 3sg, french 3pl, objects or None)
TRANSITIVE = {
    "see": ("sees", "sieht", "sehen", "voit", "voient", None),
    "like": ("likes", "mag", "mögen", "aime", "aiment", None),
    "find": ("finds", "findet", "finden", "trouve", "trouvent", None),
    "carry": ("carries", "trägt", "tragen", "porte", "portent", THINGS),
    "buy": ("buys", "kauft", "kaufen", "achète", "achètent", THINGS),
    "eat": ("eats", "isst", "essen", "mange", "mangent", ["apple", "bread", "fish"]),
    "read": ("reads", "liest", "lesen", "lit", "lisent", ["book", "letter"]),
}
INTRANSITIVE = {
    "sleep": ("sleeps", "schläft", "schlafen", "dort", "dorment"),
    "run": ("runs", "läuft", "laufen", "court", "courent"),
    "sing": ("sings", "singt", "singen", "chante", "chantent"),
    "wait": ("waits", "wartet", "warten", "attend", "attendent"),
    "play": ("plays", "spielt", "spielen", "joue", "jouent"),
}
CLAUSAL = {  # Verbs taking a "that" clause.
    "say": ("says", "sagt", "sagen", "dit", "disent"),
    "know": ("knows", "weiß", "wissen", "sait", "savent"),
}
# english: (german, french, german case) -- German prepositions here all take the dative.
PREPOSITIONS = {"in": ("in", "dans"), "near": ("neben", "près de"), "on": ("auf", "sur")}
ADVERBS = {"today": ("heute", "aujourd'hui"), "now": ("jetzt", "maintenant")}

# German articles by (definiteness, case, gender or "pl").
DE_DEF = {"nom": {"m": "der", "f": "die", "n": "das", "pl": "die"},
          "acc": {"m": "den", "f": "die", "n": "das", "pl": "die"},
          "dat": {"m": "dem", "f": "der", "n": "dem", "pl": "den"}}
DE_INDEF = {"nom": {"m": "ein", "f": "eine", "n": "ein"},
            "acc": {"m": "einen", "f": "eine", "n": "ein"},
            "dat": {"m": "einem", "f": "einer", "n": "einem"}}
# Adjective endings: weak (after der/die/das), mixed (after ein/kein), strong (no article).
DE_WEAK = {"nom": {"m": "e", "f": "e", "n": "e", "pl": "en"},
           "acc": {"m": "en", "f": "e", "n": "e", "pl": "en"},
           "dat": {"m": "en", "f": "en", "n": "en", "pl": "en"}}
DE_MIXED = {"nom": {"m": "er", "f": "e", "n": "es", "pl": "en"},
            "acc": {"m": "en", "f": "e", "n": "es", "pl": "en"},
            "dat": {"m": "en", "f": "en", "n": "en", "pl": "en"}}
DE_STRONG = {"nom": {"pl": "e"}, "acc": {"pl": "e"}, "dat": {"pl": "en"}}
