"""Greek, Hungarian, Russian and Arabic: what each says differently from English.

The rules behind each table, with the forms the prompts hold:

- Greek: minutes are neuter (το λεπτό, τα λεπτά), and the `numbers/N`
  prompts are neuter cardinals ("ένα λεπτό", "τρία λεπτά", "τέσσερα"),
  so a count is simply number + noun, singular only for 1.
- Hungarian: the noun stays singular after any numeral ("egy perc",
  "öt perc"); a number ending in 2 that counts something says "két"
  (`numbers/2a`, `numbers/12a`... "tizenkét perc"), while alone it is
  "kettő"; a key is named by its adjective ("nyomja meg az egyes gombot":
  `keys/press` + `keys/1`).
- Russian: минута (1, 21, 31... but not 11), минуты (2-4, 22-24... but not
  12-14), минут (the rest); a minute is feminine, so 1 and 2 count it as
  "одна" and "две" (`numbers/1f`, `numbers/2f`, after the tens:
  "двадцать одна").
- Arabic: "دقيقة واحدة" (1: noun then "one"), the dual "دقيقتان" (2, no
  number), 3-10 the number in the form for a feminine noun then the plural
  "دقائق", 11-99 that number then the singular "دقيقة" (accusative, which
  in pause sounds as the genitive after 100, 200...).  Counting a feminine
  noun the units 3-9 drop their tā' marbūṭa ("ثلاث", not "ثلاثة"), 11 and
  12 are "إحدى عشرة", "اثنتا عشرة": those are the `numbers/Nf` prompts;
  round tens do not change.
"""

from __future__ import annotations

from .grammar import Grammar


class Greek(Grammar):
    code = "el"


class Hungarian(Grammar):
    code = "hu"

    def category(self, n: int) -> str:
        return "other"  # "öt perc": singular after every numeral

    def counting(self, n: int) -> tuple[str, ...]:
        return (f"numbers/{n}a",) if n % 10 == 2 else self.number(n)

    def digit_key(self, digit: str) -> str:
        return f"keys/{digit}"

    def unit(self, category: str) -> tuple[str, ...]:
        return ("queue/minute",)


class Russian(Grammar):
    code = "ru"

    def category(self, n: int) -> str:
        if n % 10 == 1 and n % 100 != 11:
            return "one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "few"
        return "many"

    def counting(self, n: int) -> tuple[str, ...]:
        units = n % 10
        if units in (1, 2) and n % 100 not in (11, 12):
            tens = n - units
            return (*(self.number(tens) if tens else ()), f"numbers/{units}f")
        return self.number(n)

    def unit(self, category: str) -> tuple[str, ...]:
        return {"one": ("queue/minute",), "few": ("queue/minutes_few",)}.get(category, ("queue/minutes",))


class Arabic(Grammar):
    code = "ar"

    def category(self, n: int) -> str:
        if n in (0, 1, 2):
            return ("zero", "one", "two")[n]
        if 3 <= n % 100 <= 10:
            return "few"
        if 11 <= n % 100 <= 99:
            return "many"
        return "other"

    def minutes(self, n: int) -> tuple[str, ...]:
        category = self.category(n)
        if category in ("one", "two"):
            return self.unit(category)  # "دقيقة واحدة", the dual "دقيقتان": no number before
        return super().minutes(n)

    def counting(self, n: int) -> tuple[str, ...]:
        if n >= 3 and not (n >= 20 and n % 10 == 0):
            return (f"numbers/{n}f",)
        return self.number(n)

    def unit(self, category: str) -> tuple[str, ...]:
        return {
            "one": ("queue/minute",), "two": ("queue/minutes_two",), "few": ("queue/minutes",),
        }.get(category, ("queue/minute_counted",))


GRAMMARS: dict[str, Grammar] = {g.code: g for g in (Grammar(), Greek(), Hungarian(), Russian(), Arabic())}
"""The languages with prompts in sounds/, by code."""


def grammar(language: str) -> Grammar:
    """The grammar for `language`; English's shape for one without its own."""
    return GRAMMARS.get(language, GRAMMARS["en"])
