// A real OpenID Connect provider (panva's certified oidc-provider) for the test suite, on loopback.
// Its development sign-in page accepts any login with any password: the login typed becomes the
// subject and, when it holds an @, the e-mail claim. That makes it the hostile provider too.
// Usage: node oidc.mjs <port> '<clients JSON>'; prints "ready <issuer>" once listening.
import Provider from "oidc-provider";

const port = Number(process.argv[2]);
const clients = JSON.parse(process.argv[3]);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients,
  pkce: { required: () => true },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  conformIdTokenClaims: false,
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      ...(id.includes("@") ? { email: id, email_verified: true } : {}),
      name: id,
    }),
  }),
  ttl: { IdToken: 600, AccessToken: 600, AuthorizationCode: 60, Session: 600, Interaction: 600, Grant: 600 },
});
provider.proxy = false;
provider.listen(port, "127.0.0.1", () => console.log(`ready ${issuer}`));
