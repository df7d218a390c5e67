// Package password hashes and checks user passwords the way RabbitMQ's
// internal authentication backend does, so that a password_hash exported
// from RabbitMQ logs in to beatmq and one made by beatmq logs in to
// RabbitMQ.
//
// The hash is rabbit_password_hashing_sha256's (rabbit_password.erl,
// hash/2 and salted_hash/3): base64 of a 4-octet random salt followed by
// SHA-256(salt ++ UTF-8 password).
package password

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
)

// Algorithm is the hashing_algorithm RabbitMQ 3.10 writes in definitions
// and the only one beatmq accepts.
const Algorithm = "rabbit_password_hashing_sha256"

// saltLen is the salt's length in octets (rabbit_password:generate_salt/0).
const saltLen = 4

// Hash returns the hash of pw under a fresh random salt, base64-encoded
// as RabbitMQ stores it.
func Hash(pw string) string {
	var salt [saltLen]byte
	_, _ = rand.Read(salt[:]) // crypto/rand.Read never fails
	return HashSalt(salt, pw)
}

// HashSalt returns the hash of pw under salt, base64-encoded.
func HashSalt(salt [saltLen]byte, pw string) string {
	return base64.StdEncoding.EncodeToString(salted(salt[:], pw))
}

func salted(salt []byte, pw string) []byte {
	sum := sha256.Sum256(append(append([]byte{}, salt...), pw...))
	return append(append([]byte{}, salt...), sum[:]...)
}

// Check reports whether pw matches hash (base64, as Hash returns). The
// comparison takes the same time wherever the first difference is.
func Check(hash, pw string) bool {
	raw, err := base64.StdEncoding.DecodeString(hash)
	if err != nil || len(raw) != saltLen+sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare(raw, salted(raw[:saltLen], pw)) == 1
}

// Validate checks that hash is a base64 salted SHA-256 hash, or "" (a
// user without a password, who cannot log in with one, as in RabbitMQ).
func Validate(hash string) error {
	if hash == "" {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(hash)
	if err != nil {
		return fmt.Errorf("password_hash: not base64: %w", err)
	}
	if len(raw) != saltLen+sha256.Size {
		return fmt.Errorf("password_hash: %d octets, want %d (4 of salt, 32 of SHA-256)", len(raw), saltLen+sha256.Size)
	}
	return nil
}

// CheckAlgorithm accepts a definitions file's hashing_algorithm: Algorithm,
// or "" (RabbitMQ's default when the field is absent).
func CheckAlgorithm(alg string) error {
	if alg == "" || alg == Algorithm {
		return nil
	}
	return errors.New("hashing_algorithm " + alg + ": only " + Algorithm + " is supported")
}
