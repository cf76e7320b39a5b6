-- disable Amazon channels and blank their credentials
UPDATE amazon_account
   SET enabled = false,
       lwa_client_secret = NULL,
       lwa_refresh_token = NULL,
       aws_access_key_id = NULL,
       aws_secret_access_key = NULL,
       lwa_oauth_nonce = NULL;

-- and the wizards holding a new secret or a pasted token
UPDATE amazon_rotate_secret_wizard
   SET new_client_secret = NULL;
UPDATE amazon_authorize_wizard
   SET refresh_token = NULL;
