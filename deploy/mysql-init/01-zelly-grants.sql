-- The MySQL image creates the user from MYSQL_USER / MYSQL_PASSWORD before it runs this file.
-- `zelly migrate` creates Zelly's three databases itself (origin/db/engine.py); the user may
-- create and change those three and nothing else.
GRANT ALL PRIVILEGES ON `astro_primary`.* TO 'zelly'@'%';
GRANT ALL PRIVILEGES ON `ecom_store_front`.* TO 'zelly'@'%';
GRANT ALL PRIVILEGES ON `backoffice`.* TO 'zelly'@'%';
