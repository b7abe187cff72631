"""A recursive-descent parser for the Haskell an export prints, with accelerate's and the Prelude's fixities.

Infix expressions are resolved by precedence climbing with the fixities
declared in accelerate's source (and the Prelude's, for the classes accelerate
re-uses); an operator without a declaration is ``infixl 9``, as in Haskell —
which is what accelerate's ``mod'`` is. Anything outside the subset raises
:class:`~.errors.Unsupported` naming it and its line.

>>> parse_expression("1 + 2 * 3 `mod'` 4")  # doctest: +ELLIPSIS
App(fn=App(fn=Var(name='+', ...), arg=Lit(value=1)), arg=App(fn=App(fn=Var(name='*', ...), arg=Lit(value=2)), ...
"""

from __future__ import annotations

from .errors import HsSyntaxError, Unsupported
from .lexer import Token, tokens
from .syntax import (
    App,
    Bind,
    Con,
    Lam,
    Let,
    List,
    Lit,
    Module,
    PCon,
    PTuple,
    PVar,
    PWild,
    Section,
    TCon,
    TFun,
    TTuple,
    Tuple,
    TVar,
    Typed,
    Var,
)

# (precedence, associativity) as declared where each operator is defined.
FIXITIES = {
    "!": (9, "l"),  # Data.Array.Accelerate.Language: infixl 9 !
    "^": (8, "r"),  # Data.Array.Accelerate.Language: infixr 8 ^
    "**": (8, "r"),  # Prelude's Floating class, which accelerate's Exp instances use
    "BLAS.<>": (8, "r"),  # accelerate-blas, Data.Array.Accelerate.Numeric.LinearAlgebra: infixr 8 <>
    "Bits..&.": (7, "l"),  # Data.Array.Accelerate.Data.Bits: infixl 7 .&.
    "Bits..|.": (5, "l"),  # infixl 5 .|.
    "*": (7, "l"),
    "/": (7, "l"),
    "div": (7, "l"),  # Prelude's Integral class (quot, rem, div, mod): infixl 7
    "mod": (7, "l"),
    "quot": (7, "l"),
    "rem": (7, "l"),
    "+": (6, "l"),
    "-": (6, "l"),
    "++": (5, "r"),  # Data.Array.Accelerate.Prelude: infixr 5 ++
    "==": (4, "n"),  # Data.Array.Accelerate.Classes.Eq / .Ord: infix 4
    "/=": (4, "n"),
    "<": (4, "n"),
    "<=": (4, "n"),
    ">": (4, "n"),
    ">=": (4, "n"),
    ":.": (3, "l"),  # Data.Array.Accelerate.Sugar.Shape: infixl 3 :.
    "::.": (3, "l"),  # Data.Array.Accelerate.Pattern.Shape: infixl 3 ::. (the :. of Exp indices)
    "&&": (3, "r"),  # Data.Array.Accelerate.Classes.Eq: infixr 3 &&
    "||": (2, "r"),  # infixr 2 ||
    "?": (0, "n"),  # Data.Array.Accelerate.Prelude: infix 0 ?
}
DEFAULT_FIXITY = (9, "l")  # Haskell 2010 §4.4.2: no fixity declaration means infixl 9 (accelerate's mod')
NEGATION_PRECEDENCE = 6


def fixity(op: str) -> tuple[int, str]:
    return FIXITIES.get(op, DEFAULT_FIXITY)


class Parser:
    def __init__(self, source: str) -> None:
        self.toks = tokens(source)
        self.pos = 0

    # --- tokens ------------------------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.toks[min(self.pos + ahead, len(self.toks) - 1)]

    def next(self) -> Token:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.next()
        if token.text != text:
            raise HsSyntaxError(f"expected {text!r}, found {token.text!r} at {token.where()}")
        return token

    def at(self, *texts: str) -> bool:
        return self.peek().text in texts and self.peek().kind not in ("var", "con", "int", "float")

    def operator_here(self) -> tuple[str, int] | None:
        """The infix operator at the current position (and how many tokens it takes), if any."""
        token = self.peek()
        if token.kind in ("op", "qop") and token.text != "-" or token.text == "-" and token.kind == "op":
            return token.text, 1
        if token.text == "`" and self.peek(1).kind == "var" and self.peek(2).text == "`":
            return self.peek(1).text, 3
        return None

    # --- module ------------------------------------------------------------------------------------------
    def module(self) -> Module:
        self.expect("module")
        name = self.next().text
        exports = []
        if self.at("("):
            self.next()
            while not self.at(")"):
                exports.append(self.next().text)
                if self.at(","):
                    self.next()
            self.expect(")")
        self.expect("where")
        self.expect("{")
        module = Module(name, exports, {})
        while True:
            self.top_declaration(module)
            if self.at(";"):
                self.next()
                continue
            self.expect("}")
            break
        if self.peek().kind != "eof":
            raise HsSyntaxError(f"unexpected {self.peek().text!r} at {self.peek().where()}")
        return module

    def top_declaration(self, module: Module) -> None:
        if self.at("import"):
            self.next()
            qualified = self.at("qualified") and self.next() is not None
            imported = self.next().text
            alias = ""
            if self.at("as"):
                self.next()
                alias = self.next().text
            module.imports[imported] = alias if qualified else ""
            if self.at("("):  # an import list: `import Prelude ()` imports nothing
                self.next()
                if not self.at(")"):
                    raise Unsupported(f"import lists other than () ({imported}) at {self.peek().where()}")
                self.next()
            return
        if self.peek().kind == "var" and self.peek(1).text == "::":
            name = self.next().text
            self.next()
            module.signatures[name] = self.type_with_context()
            return
        bind = self.binding()
        if not isinstance(bind.pat, PVar):
            raise Unsupported(f"top-level pattern binding at line {self.peek().line}")
        module.binds[bind.pat.name] = bind.expr

    # --- bindings and patterns ---------------------------------------------------------------------------
    def binding(self) -> Bind:
        start = self.peek()
        if start.kind == "var" and self.peek(1).text != "=":
            self.next()
            pats = []
            while not self.at("="):
                pats.append(self.apat())
            self.expect("=")
            return Bind(PVar(start.text), Lam(tuple(pats), self.expression()))
        pat = self.pattern()
        self.expect("=")
        return Bind(pat, self.expression())

    def pattern(self) -> object:
        """A pattern where a constructor may take arguments without brackets (``T2 r s = ...``)."""
        token = self.peek()
        if token.kind == "con":
            self.next()
            args = []
            while self.peek().kind in ("var", "con") or self.at("(", "_"):
                args.append(self.apat())
            return PCon(token.text, tuple(args), token.line)
        return self.apat()

    def apat(self) -> object:
        token = self.next()
        if token.kind == "var":
            return PWild() if token.text == "_" else PVar(token.text)
        if token.kind == "con":
            return PCon(token.text, (), token.line)
        if token.text == "(":
            items = [self.pattern()]
            while self.at(","):
                self.next()
                items.append(self.pattern())
            self.expect(")")
            return items[0] if len(items) == 1 else PTuple(tuple(items))
        raise Unsupported(f"pattern starting with {token.text!r} at {token.where()}")

    # --- expressions -------------------------------------------------------------------------------------
    def expression(self) -> object:
        expr = self.infix(0)
        if self.at("::"):
            self.next()
            expr = Typed(expr, self.type_with_context())
        return expr

    def infix(self, min_precedence: int) -> object:
        if self.at("-") and self.peek().kind == "op":
            self.next()
            lhs = App(Var("negate"), self.infix(NEGATION_PRECEDENCE + 1))
        else:
            lhs = self.operand()
        last: tuple[int, str] | None = None
        while (found := self.operator_here()) is not None:
            op, width = found
            precedence, assoc = fixity(op)
            if precedence < min_precedence or self.peek(width).text == ")":  # `(e op)` is a section
                break
            if last is not None and last[0] == precedence and (last[1] != assoc or assoc == "n"):
                raise HsSyntaxError(f"cannot mix operators of precedence {precedence} at {self.peek().where()}")
            line = self.peek().line
            self.pos += width
            rhs = self.infix(precedence + (0 if assoc == "r" else 1))
            lhs = App(App(Var(op, line), lhs), rhs)
            last = (precedence, assoc)
        return lhs

    def operand(self) -> object:
        token = self.peek()
        if token.text == "\\":
            self.next()
            pats = []
            while not self.at("->"):
                pats.append(self.apat())
            self.next()
            return Lam(tuple(pats), self.expression())
        if token.text == "let" and token.kind == "keyword":
            self.next()
            self.expect("{")
            binds = [self.binding()]
            while self.at(";"):
                self.next()
                binds.append(self.binding())
            self.expect("}")
            self.expect("in")
            return Let(tuple(binds), self.expression())
        if token.kind == "keyword":
            raise Unsupported(f"'{token.text}' expressions (at {token.where()})")
        expr = self.atom()
        while self.starts_atom():
            expr = App(expr, self.atom())
        return expr

    def starts_atom(self) -> bool:
        token = self.peek()
        return token.kind in ("var", "con", "int", "float") or (token.kind == "special" and token.text in "([")

    def atom(self) -> object:
        token = self.next()
        if token.kind == "var":
            return Var(token.text, token.line)
        if token.kind == "con":
            return Con(token.text, token.line)
        if token.kind == "int":
            return Lit(int(token.text))
        if token.kind == "float":
            return Lit(float(token.text))
        if token.text == "[":
            items = []
            while not self.at("]"):
                items.append(self.expression())
                if self.at(","):
                    self.next()
            self.next()
            return List(tuple(items))
        if token.text == "(":
            return self.bracketed(token)
        raise Unsupported(f"expression starting with {token.text!r} at {token.where()}")

    def bracketed(self, open_token: Token) -> object:
        """What follows ``(``: unit, an operator, a section, a bracketed expression or a tuple."""
        if self.at(")"):
            self.next()
            return Tuple(())
        found = self.operator_here()
        if found is not None and (found[0] != "-" or self.peek(1).text == ")"):  # (- 1) is a negation
            op, width = found
            self.pos += width
            if self.at(")"):
                self.next()
                return Var(op, open_token.line)
            right = self.expression()
            self.expect(")")
            return Section(op, None, right, open_token.line)
        items = [self.expression()]
        found = self.operator_here()
        if found is not None and self.peek(found[1]).text == ")":
            self.pos += found[1] + 1
            return Section(found[0], items[0], None, open_token.line)
        while self.at(","):
            self.next()
            items.append(self.expression())
        self.expect(")")
        return items[0] if len(items) == 1 else Tuple(tuple(items))

    # --- types -------------------------------------------------------------------------------------------
    def type_with_context(self) -> object:
        ty = self.type()
        if self.at("=>"):  # a class context constrains only type variables: the evaluator is dynamic
            self.next()
            ty = self.type()
        return ty

    def type(self) -> object:
        ty = self.btype()
        while self.at(":."):  # a shape's type, `sh :. Int` (infixl 3, below application, above ->)
            self.next()
            ty = TCon(":.", (ty, self.btype()))
        if self.at("->"):
            self.next()
            return TFun(ty, self.type())
        return ty

    def btype(self) -> object:
        head = self.atype()
        args = []
        while self.peek().kind in ("con", "var") or self.at("("):
            args.append(self.atype())
        if not args:
            return head
        if not isinstance(head, TCon) or head.args:
            raise Unsupported(f"type application of {head} at line {self.peek().line}")
        return TCon(head.name, tuple(args))

    def atype(self) -> object:
        token = self.next()
        if token.kind == "con":
            return TCon(token.text)
        if token.kind == "var":
            return TVar(token.text)
        if token.text == "(":
            if self.at(")"):
                self.next()
                return TTuple(())
            items = [self.type()]
            while self.at(","):
                self.next()
                items.append(self.type())
            self.expect(")")
            return items[0] if len(items) == 1 else TTuple(tuple(items))
        raise Unsupported(f"type starting with {token.text!r} at {token.where()}")


def parse_module(source: str) -> Module:
    """The exported module ``source`` as a :class:`~.syntax.Module`."""
    return Parser(source).module()


def parse_expression(source: str) -> object:
    """One expression (for tests and error messages)."""
    parser = Parser(source)
    expr = parser.expression()
    if parser.peek().kind != "eof":
        raise HsSyntaxError(f"unexpected {parser.peek().text!r} at {parser.peek().where()}")
    return expr
