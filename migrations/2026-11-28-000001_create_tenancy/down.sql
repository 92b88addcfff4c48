DROP TABLE login_throttle;
DROP TABLE api_tokens;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE sites;
DROP TABLE tenants;
