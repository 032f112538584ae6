package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"

	"github.com/miekg/pkcs11"
)

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func run(args ...string) {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	fmt.Printf("$ %v\n%s", args, out)
	if err != nil {
		fmt.Println("ERR", err)
	}
}

func main() {
	dir, _ := os.MkdirTemp("", "shsm")
	os.MkdirAll(dir+"/tokens", 0o700)
	os.WriteFile(dir+"/softhsm2.conf", []byte("directories.tokendir = "+dir+"/tokens\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600)
	os.Setenv("SOFTHSM2_CONF", dir+"/softhsm2.conf")
	run("softhsm2-util", "--init-token", "--free", "--label", "t1", "--so-pin", "1234", "--pin", "5678")
	p := pkcs11.New("/usr/lib/softhsm/libsofthsm2.so")
	must(p.Initialize())
	slots, _ := p.GetSlotList(true)
	ns, err := p.OpenSession(slots[0], pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	must(err)
	must(p.Login(ns, pkcs11.CKU_USER, "5678"))
	find := func(sess pkcs11.SessionHandle, label string) []pkcs11.ObjectHandle {
		err := p.FindObjectsInit(sess, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
		if err != nil {
			fmt.Println("findinit", err)
			return nil
		}
		h, _, err := p.FindObjects(sess, 10)
		fmt.Println("find", label, h, err)
		p.FindObjectsFinal(sess)
		return h
	}
	// external import
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	os.WriteFile(dir+"/k.der", der, 0o600)
	sec1, _ := x509.MarshalECPrivateKey(k)
	os.WriteFile(dir+"/k1.der", sec1, 0o600)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	os.WriteFile(dir+"/pub.der", pub, 0o600)
	run("pkcs11-tool", "--module", "/usr/lib/softhsm/libsofthsm2.so", "--token-label", "t1", "--login", "--pin", "5678", "--write-object", dir+"/k.der", "--type", "privkey", "--label", "imp", "--id", "02")
	run("pkcs11-tool", "--module", "/usr/lib/softhsm/libsofthsm2.so", "--token-label", "t1", "--login", "--pin", "5678", "--write-object", dir+"/k1.der", "--type", "privkey", "--label", "imp1", "--id", "03")
	run("pkcs11-tool", "--module", "/usr/lib/softhsm/libsofthsm2.so", "--token-label", "t1", "--login", "--pin", "5678", "--write-object", dir+"/pub.der", "--type", "pubkey", "--label", "imp", "--id", "02")
	find(ns, "imp")
	find(ns, "imp1")
	run("pkcs11-tool", "--module", "/usr/lib/softhsm/libsofthsm2.so", "--token-label", "t1", "--login", "--pin", "5678", "-O")
	sm2oid := []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d}
	o, err := p.CreateObject(ns, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, "sm2"),
		pkcs11.NewAttribute(pkcs11.CKA_ID, []byte{9}),
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, sm2oid),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, make([]byte, 31)),
	})
	fmt.Println("create sm2", o, err)
	err = p.SignInit(ns, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, o)
	fmt.Println("ecdsa signinit on sm2", err)
	if err == nil {
		_, err = p.Sign(ns, make([]byte, 32))
		fmt.Println("ecdsa sign on sm2", err)
	}
	err = p.SignInit(ns, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_VENDOR_DEFINED+0x8001, nil)}, o)
	fmt.Println("vendor signinit", err)
	a, err := p.GetAttributeValue(ns, o, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil), pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
	fmt.Println("attrs", a, err)
	a, err = p.GetAttributeValue(ns, o, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil)})
	fmt.Println("attrs", a, err)
	mi, err := p.GetMechanismList(slots[0])
	fmt.Println("mechs", len(mi), err)
	fmt.Println(p.CloseSession(ns))
	ns, _ = p.OpenSession(slots[0], pkcs11.CKF_SERIAL_SESSION)
	si, _ := p.GetSessionInfo(ns)
	fmt.Printf("after close all: %+v\n", si)
}
