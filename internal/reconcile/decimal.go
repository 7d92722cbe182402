package reconcile

import (
	"errors"
	"math/big"
	"strconv"
	"strings"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

// Powers of ten that turn one unit of a provider's amount into femto-dollars.
const (
	dollarsExp = 15 // OpenAI amount.value and every CSV cost column
	centsExp   = 13 // Anthropic cost_report amount ("lowest currency units")
)

// maxNumberLen bounds the text of one number, so that a hostile input cannot
// make the parser build huge powers of ten.
const maxNumberLen = 200

var (
	errNotDecimal = errors.New("not a decimal number")
	errTooLarge   = errors.New("out of range")
)

// parseAmount reads a decimal number such as "0.06", "-1.5", "123.45",
// "0.000004500000000000000000000000000000000" or "0E-6176" (the shapes the
// providers send) exactly, and returns it times 10^unitExp as an exact sum of
// femto-dollars. Digits finer than a femto-dollar are rounded half to even;
// nothing else is ever rounded.
func parseAmount(s string, unitExp int) (store.Amount, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxNumberLen {
		return store.Amount{}, errNotDecimal
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	mant, exp, hasExp := strings.Cut(s, "e")
	if !hasExp {
		mant, exp, hasExp = strings.Cut(s, "E")
	}
	whole, frac, _ := strings.Cut(mant, ".")
	if whole+frac == "" || !allDigits(whole) || !allDigits(frac) {
		return store.Amount{}, errNotDecimal
	}
	e := 0
	if hasExp {
		if exp == "" {
			return store.Amount{}, errNotDecimal
		}
		digits := strings.TrimLeft(exp, "+-")
		if len(exp)-len(digits) > 1 || digits == "" || !allDigits(digits) || len(digits) > 6 {
			return store.Amount{}, errNotDecimal
		}
		n, _ := strconv.Atoi(digits)
		if exp[0] == '-' {
			n = -n
		}
		e = n
	}
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return store.Amount{}, nil
	}
	shift := unitExp + e - len(frac)
	if len(digits)+shift > 36 { // above 1e36 femto-dollars: far beyond an int64 of dollars
		return store.Amount{}, errTooLarge
	}
	if len(digits)+shift < 0 { // below 0.1 femto-dollar: rounds to zero
		return store.Amount{}, nil
	}
	d, _ := new(big.Int).SetString(digits, 10)
	ten := big.NewInt(10)
	if shift >= 0 {
		d.Mul(d, new(big.Int).Exp(ten, big.NewInt(int64(shift)), nil))
	} else {
		div := new(big.Int).Exp(ten, big.NewInt(int64(-shift)), nil)
		q, r := new(big.Int).QuoRem(d, div, new(big.Int))
		switch r.Lsh(r, 1).Cmp(div) { // compare 2r with div: half to even
		case 1:
			q.Add(q, big.NewInt(1))
		case 0:
			if q.Bit(0) == 1 {
				q.Add(q, big.NewInt(1))
			}
		}
		d = q
	}
	if neg {
		d.Neg(d)
	}
	return femtoAmount(d)
}

// femtoAmount converts a number of femto-dollars to an Amount.
func femtoAmount(f *big.Int) (store.Amount, error) {
	dollars, rem := new(big.Int).DivMod(f, big.NewInt(int64(pricing.USD)), new(big.Int))
	if !dollars.IsInt64() {
		return store.Amount{}, errTooLarge
	}
	var a store.Amount
	a.AddDollars(dollars.Int64())
	a.Add(pricing.Money(rem.Int64()))
	return a, nil
}

// amountRat is a as an exact rational number of dollars.
func amountRat(a store.Amount) *big.Rat {
	d, f := a.Parts()
	r := new(big.Rat).SetFrac(big.NewInt(int64(f)), big.NewInt(int64(pricing.USD)))
	return r.Add(r, new(big.Rat).SetInt64(d))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseCount reads a token or request count: a non-negative integer, or a
// decimal with a zero fraction ("30.0", as spreadsheets write it).
func parseCount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || !allDigits(frac) || strings.Trim(frac, "0") != "" {
		return 0, errors.New("not a whole non-negative number")
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, errTooLarge
	}
	return n, nil
}
