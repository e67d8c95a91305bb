"""Localized copy of past demo campaigns: subjects, preheaders and intros per locale and campaign type.

Subjects come in short and long forms; a send may add the customer's first name, an offer tail
("-15 %") and a longer marketing tail, so subject length and personalization vary independently.
"""

from __future__ import annotations

# COPY[locale][campaign_type] = (subjects, preheaders, intros); intros start with a greeting ({greeting}).
COPY: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]] = {
    "en": {
        "welcome": (
            ("Welcome to Hearth", "Your first cup is on us", "Welcome! Here is how to brew a better morning"),
            ("A warm hello and a few favourites to start with.", "Meet the teas and coffees people love most."),
            (
                "{greeting} thank you for joining us. We picked a few things our regulars reach for first.",
                "{greeting} welcome in. Put the kettle on and have a look around.",
            ),
        ),
        "cross_sell": (
            ("Picked for you", "New in: things that go with your last order", "You might like these next"),
            ("A few ideas that pair well with what you already have.", "Fresh arrivals chosen for your kitchen."),
            (
                "{greeting} we think these would sit nicely next to your recent favourites.",
                "{greeting} here are a few new things we chose with you in mind.",
            ),
        ),
        "win_back": (
            ("We miss you", "It has been a while", "Come back for a fresh cup: your favourites are waiting"),
            ("A small thank-you if you come back this month.", "Lots has changed since your last visit."),
            (
                "{greeting} it has been a while since your last order, and we would love to see you again.",
                "{greeting} we saved a little something for your return.",
            ),
        ),
        "replenishment": (
            ("Running low?", "Time to restock your coffee and tea", "Your usual is ready to reorder"),
            ("Reorder in one click before your cupboard runs dry.", "Your everyday favourites, ready when you are."),
            (
                "{greeting} by our count you may be running low on a few of your regulars.",
                "{greeting} it is about time for a refill of your usuals.",
            ),
        ),
        "vip": (
            ("For our best customers", "An early look, just for you", "Thank you: a private preview of the season"),
            ("Early access for the people who make Hearth what it is.", "A thank-you gift for loyal customers."),
            (
                "{greeting} you are one of our most valued customers, so you get the first look.",
                "{greeting} as a thank-you for your loyalty, here is something special.",
            ),
        ),
    },
    "de": {
        "welcome": (
            ("Willkommen bei Hearth", "Die erste Tasse geht auf uns", "Willkommen! So gelingt ein besserer Morgen"),
            ("Ein herzliches Hallo und ein paar Lieblinge zum Start.", "Die beliebtesten Tees und Kaffees."),
            (
                "{greeting} schön, dass du da bist. Wir haben ein paar Klassiker für dich ausgesucht.",
                "{greeting} willkommen! Setz den Kessel auf und schau dich um.",
            ),
        ),
        "cross_sell": (
            ("Für dich ausgewählt", "Neu: passend zu deiner letzten Bestellung", "Das könnte dir auch gefallen"),
            ("Ein paar Ideen, die zu deinen Lieblingen passen.", "Neuheiten, ausgesucht für deine Küche."),
            (
                "{greeting} diese Stücke passen wunderbar zu deinen letzten Einkäufen.",
                "{greeting} hier sind ein paar Neuheiten, die wir für dich ausgesucht haben.",
            ),
        ),
        "win_back": (
            ("Wir vermissen dich", "Lange nicht gesehen", "Komm zurück auf eine frische Tasse: deine Lieblinge warten"),
            (
                "Ein kleines Dankeschön, wenn du diesen Monat zurückkommst.",
                "Seit deinem letzten Besuch ist viel passiert.",
            ),
            (
                "{greeting} deine letzte Bestellung ist eine Weile her, und wir würden uns freuen, dich wiederzusehen.",
                "{greeting} wir haben eine Kleinigkeit für deine Rückkehr zurückgelegt.",
            ),
        ),
        "replenishment": (
            ("Bald leer?", "Zeit, Kaffee und Tee aufzufüllen", "Dein Klassiker ist bereit zur Nachbestellung"),
            ("Mit einem Klick nachbestellen, bevor der Vorrat ausgeht.", "Deine Alltagslieblinge, wann du willst."),
            (
                "{greeting} nach unserer Rechnung geht dir bald etwas von deinen Klassikern aus.",
                "{greeting} es ist Zeit, deine Lieblinge aufzufüllen.",
            ),
        ),
        "vip": (
            (
                "Für unsere besten Kunden",
                "Ein früher Blick, nur für dich",
                "Danke: eine private Vorschau auf die Saison",
            ),
            ("Früher Zugang für die Menschen, die Hearth ausmachen.", "Ein Dankeschön für treue Kunden."),
            (
                "{greeting} du gehörst zu unseren treuesten Kunden, deshalb siehst du alles zuerst.",
                "{greeting} als Dank für deine Treue haben wir etwas Besonderes für dich.",
            ),
        ),
    },
    "pl": {
        "welcome": (
            ("Witamy w Hearth", "Pierwsza filiżanka od nas", "Witamy! Tak zaczyna się lepszy poranek"),
            ("Ciepłe powitanie i kilka ulubionych produktów na start.", "Herbaty i kawy, które kochają wszyscy."),
            (
                "{greeting} dziękujemy, że jesteś z nami. Wybraliśmy kilka rzeczy na dobry początek.",
                "{greeting} witamy! Nastaw czajnik i rozejrzyj się.",
            ),
        ),
        "cross_sell": (
            ("Wybrane dla Ciebie", "Nowości pasujące do Twojego zamówienia", "To może Ci się spodobać"),
            ("Kilka pomysłów, które pasują do tego, co już masz.", "Nowości wybrane do Twojej kuchni."),
            (
                "{greeting} te produkty świetnie pasują do Twoich ostatnich zakupów.",
                "{greeting} oto kilka nowości wybranych specjalnie dla Ciebie.",
            ),
        ),
        "win_back": (
            ("Tęsknimy za Tobą", "Dawno się nie widzieliśmy", "Wróć na świeżą filiżankę: Twoje ulubione czekają"),
            ("Mały prezent, jeśli wrócisz w tym miesiącu.", "Od Twojej ostatniej wizyty wiele się zmieniło."),
            (
                "{greeting} minęło trochę czasu od Twojego ostatniego zamówienia. Chętnie znów Cię zobaczymy.",
                "{greeting} odłożyliśmy coś specjalnie na Twój powrót.",
            ),
        ),
        "replenishment": (
            ("Kończy się zapas?", "Czas uzupełnić kawę i herbatę", "Twoje ulubione gotowe do ponownego zamówienia"),
            ("Zamów ponownie jednym kliknięciem.", "Codzienne ulubione produkty, kiedy chcesz."),
            (
                "{greeting} według naszych obliczeń niedługo skończą Ci się ulubione produkty.",
                "{greeting} to dobry moment, żeby uzupełnić zapasy.",
            ),
        ),
        "vip": (
            (
                "Dla naszych najlepszych klientów",
                "Wcześniejszy dostęp tylko dla Ciebie",
                "Dziękujemy: prywatny pokaz sezonu",
            ),
            ("Wcześniejszy dostęp dla tych, którzy tworzą Hearth.", "Podziękowanie dla wiernych klientów."),
            (
                "{greeting} jesteś jednym z naszych najcenniejszych klientów, więc widzisz wszystko pierwszy.",
                "{greeting} w podziękowaniu za lojalność mamy dla Ciebie coś wyjątkowego.",
            ),
        ),
    },
    "ru": {
        "welcome": (
            ("Добро пожаловать в Hearth", "Первая чашка за наш счёт", "Добро пожаловать! Как сделать утро лучше"),
            ("Тёплый привет и несколько любимых товаров для начала.", "Чаи и кофе, которые любят больше всего."),
            (
                "{greeting} спасибо, что вы с нами. Мы подобрали то, с чего начинают наши постоянные покупатели.",
                "{greeting} добро пожаловать! Ставьте чайник и осмотритесь.",
            ),
        ),
        "cross_sell": (
            ("Подобрано для вас", "Новинки к вашему последнему заказу", "Вам может понравиться"),
            ("Несколько идей, которые подойдут к вашим покупкам.", "Свежие поступления для вашей кухни."),
            (
                "{greeting} эти товары отлично дополнят ваши недавние покупки.",
                "{greeting} вот несколько новинок, которые мы выбрали для вас.",
            ),
        ),
        "win_back": (
            ("Мы скучаем", "Давно не виделись", "Возвращайтесь на свежую чашку: ваши любимые товары ждут"),
            ("Небольшой подарок, если вернётесь в этом месяце.", "С вашего последнего визита многое изменилось."),
            (
                "{greeting} ваш последний заказ был давно, и мы будем рады видеть вас снова.",
                "{greeting} мы отложили кое-что к вашему возвращению.",
            ),
        ),
        "replenishment": (
            ("Запасы заканчиваются?", "Пора пополнить кофе и чай", "Ваш обычный заказ готов к повтору"),
            ("Повторите заказ в один клик.", "Ваши любимые товары на каждый день."),
            (
                "{greeting} по нашим подсчётам, скоро закончатся ваши любимые товары.",
                "{greeting} самое время пополнить запасы.",
            ),
        ),
        "vip": (
            ("Для наших лучших клиентов", "Ранний доступ только для вас", "Спасибо: закрытый предпросмотр сезона"),
            ("Ранний доступ для тех, кто делает Hearth особенным.", "Подарок в благодарность за верность."),
            (
                "{greeting} вы один из наших самых ценных клиентов, поэтому видите всё первым.",
                "{greeting} в благодарность за вашу верность у нас есть кое-что особенное.",
            ),
        ),
    },
    "bg": {
        "welcome": (
            ("Добре дошли в Hearth", "Първата чаша е от нас", "Добре дошли! Как да направите утрото по-хубаво"),
            ("Топъл поздрав и няколко любими продукта за начало.", "Чайовете и кафетата, които всички обичат."),
            (
                "{greeting} благодарим, че сте с нас. Избрахме няколко неща за добро начало.",
                "{greeting} добре дошли! Сложете чайника и разгледайте.",
            ),
        ),
        "cross_sell": (
            ("Избрано за вас", "Ново: към последната ви поръчка", "Може да ви хареса"),
            ("Няколко идеи, които подхождат на любимите ви неща.", "Нови продукти, избрани за вашата кухня."),
            (
                "{greeting} тези продукти чудесно допълват последните ви покупки.",
                "{greeting} ето няколко новости, които избрахме специално за вас.",
            ),
        ),
        "win_back": (
            ("Липсвате ни", "Отдавна не сме се виждали", "Върнете се за свежа чаша: любимите ви продукти чакат"),
            ("Малък подарък, ако се върнете този месец.", "Много се промени от последното ви посещение."),
            (
                "{greeting} мина време от последната ви поръчка и ще се радваме да ви видим отново.",
                "{greeting} запазихме нещо специално за завръщането ви.",
            ),
        ),
        "replenishment": (
            ("Свършва ли ви?", "Време е да заредите кафе и чай", "Обичайната ви поръчка е готова"),
            ("Поръчайте отново с едно кликване.", "Любимите ви продукти за всеки ден."),
            (
                "{greeting} по наши сметки скоро ще ви свършат любимите продукти.",
                "{greeting} време е да заредите запасите си.",
            ),
        ),
        "vip": (
            ("За нашите най-добри клиенти", "Ранен достъп само за вас", "Благодарим: частен преглед на сезона"),
            ("Ранен достъп за хората, които правят Hearth специален.", "Подарък за нашите верни клиенти."),
            (
                "{greeting} вие сте сред най-ценните ни клиенти, затова виждате всичко първи.",
                "{greeting} в знак на благодарност за верността ви имаме нещо специално.",
            ),
        ),
    },
}

# "{name}" greeting and the greeting without a name.
GREETINGS = {
    "en": ("Hi {name},", "Hello,"),
    "de": ("Hallo {name},", "Hallo,"),
    "pl": ("Cześć {name},", "Dzień dobry,"),
    "ru": ("Здравствуйте, {name}!", "Здравствуйте!"),
    "bg": ("Здравейте, {name}!", "Здравейте!"),
}
OFFER_TAILS = {
    "en": " – {discount}% off",
    "de": " – {discount} % Rabatt",
    "pl": " – {discount}% taniej",
    "ru": " – скидка {discount}%",
    "bg": " – {discount}% отстъпка",
}
LONG_TAILS = {
    "en": (" | Free delivery over €40 this week only", " and a few new favourites for the season"),
    "de": (" | Nur diese Woche versandkostenfrei ab 40 €", " und ein paar neue Lieblinge für die Saison"),
    "pl": (" | Darmowa dostawa od 40 € tylko w tym tygodniu", " i kilka nowości na ten sezon"),
    "ru": (" | Бесплатная доставка от 40 € только на этой неделе", " и несколько новинок сезона"),
    "bg": (" | Безплатна доставка над 40 € само тази седмица", " и няколко нови любими за сезона"),
}


def personalize(subject: str, name: str) -> str:
    """Add the first name to a subject ("We miss you, Anna") before any closing punctuation."""
    stripped = subject.rstrip("!?.")
    return f"{stripped}, {name}{subject[len(stripped) :]}"


def intro_text(template: str, greeting: str) -> str:
    """Fill an intro's greeting, starting a new sentence after greetings that end with "!"."""
    rest = template.removeprefix("{greeting} ")
    if greeting.endswith("!"):
        rest = rest[:1].upper() + rest[1:]
    return f"{greeting} {rest}"
