/*
 * COpenSSL: RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signing with OpenSSL's libcrypto, for the service-account
 * JWTs of the Firebase export sink. The EVP calls take macros and out-parameters that are awkward from Swift;
 * these two inline functions are all the Swift side needs. Nothing here logs or keeps key material.
 */
#ifndef KASPA_SENSOR_COPENSSL_SHIM_H
#define KASPA_SENSOR_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stddef.h>

/** Reads a PEM private key (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"); NULL if it is not one. */
static inline EVP_PKEY *copenssl_read_private_key(const char *pem, size_t length) {
    BIO *bio = BIO_new_mem_buf(pem, (int)length);
    if (bio == NULL) {
        return NULL;
    }
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    return key;
}

/** Whether `key` is an RSA key (RS256 needs one). */
static inline int copenssl_is_rsa(const EVP_PKEY *key) {
    return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
}

/**
 * Signs `length` bytes at `data` with RS256 into `signature` (capacity `*signature_length`, at least
 * EVP_PKEY_get_size(key)), setting `*signature_length`. Returns 1 on success, 0 on failure.
 */
static inline int copenssl_sign_rs256(
    EVP_PKEY *key, const unsigned char *data, size_t length, unsigned char *signature, size_t *signature_length) {
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (context == NULL) {
        return 0;
    }
    int ok = EVP_DigestSignInit(context, NULL, EVP_sha256(), NULL, key) == 1
        && EVP_DigestSign(context, signature, signature_length, data, length) == 1;
    EVP_MD_CTX_free(context);
    ERR_clear_error();
    return ok;
}

#endif /* KASPA_SENSOR_COPENSSL_SHIM_H */
