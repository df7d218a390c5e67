package password

import "testing"

// A hash RabbitMQ made: a 3.7 definitions export, published with its
// password (legatest), for user legatest.
const rabbitHash = "P9snZluoiHj2JeGqrDYmUHGLu637Qo7Fjgn5wakpk4jCyvcO"

func TestCheckRabbitMQHash(t *testing.T) {
	if !Check(rabbitHash, "legatest") {
		t.Fatal("RabbitMQ's hash of legatest does not check")
	}
	if Check(rabbitHash, "legatest2") || Check(rabbitHash, "") {
		t.Fatal("RabbitMQ's hash checks a wrong password")
	}
}

func TestHashSaltIsRabbitMQs(t *testing.T) {
	// Salt and digest taken apart from RabbitMQ's own hash, then made again.
	salt := [4]byte{0x3f, 0xdb, 0x27, 0x66}
	if got := HashSalt(salt, "legatest"); got != rabbitHash {
		t.Fatalf("HashSalt = %s, want RabbitMQ's %s", got, rabbitHash)
	}
}

func TestHashRoundTrip(t *testing.T) {
	for _, pw := range []string{"", "guest", "pässwörd", "a very long password with spaces"} {
		h := Hash(pw)
		if err := Validate(h); err != nil {
			t.Fatalf("Validate(Hash(%q)): %v", pw, err)
		}
		if !Check(h, pw) || Check(h, pw+"x") {
			t.Fatalf("Check(Hash(%q)) wrong", pw)
		}
	}
	if Hash("x") == Hash("x") {
		t.Fatal("two hashes of one password share a salt")
	}
}

func TestValidate(t *testing.T) {
	for _, h := range []string{"not base64!", "AAAA", rabbitHash + "AAAA"} {
		if Validate(h) == nil {
			t.Errorf("Validate(%q) = nil", h)
		}
	}
	if Validate("") != nil || Validate(rabbitHash) != nil {
		t.Fatal("Validate refuses a good hash")
	}
	if CheckAlgorithm("rabbit_password_hashing_md5") == nil || CheckAlgorithm("") != nil || CheckAlgorithm(Algorithm) != nil {
		t.Fatal("CheckAlgorithm")
	}
}
