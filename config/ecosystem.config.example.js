// An example PM2 ecosystem file, named by pm2Ecosystem in
// authorized-services.json.example. arcanos reads only the app names from it,
// in a sandbox: no require, an empty process.env, nothing else of the host.
module.exports = {
  apps: [
    {
      name: "api",
      script: "./server.js",
      instances: 2,
      env: { PORT: process.env.PORT || 3000 },
    },
    {
      // No name: PM2 (and arcanos) name it after the script, "queue-worker".
      script: "./queue-worker.js",
    },
  ],
};
