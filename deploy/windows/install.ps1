#Requires -RunAsAdministrator
<#
.SYNOPSIS
  Installs or upgrades SmartMail as a Windows service from the unzipped smartmail_VERSION_win-x64.zip.
.DESCRIPTION
  Copies program\ to -ProgramDir (an existing appsettings.json is kept), writes appsettings.json from the template on
  first install, creates the service "SmartMail" (virtual account NT SERVICE\SmartMail, delayed automatic start, restart
  after a failure), and creates -DataDir with inheritance removed: full control for SYSTEM and Administrators, modify for
  the service account, nobody else. An upgrade stops the service first and starts it again if it was running.
#>
param(
    [string]$ProgramDir = (Join-Path $env:ProgramFiles 'SmartMail'),
    [string]$DataDir = (Join-Path $env:ProgramData 'SmartMail'),
    [switch]$Start
)
$ErrorActionPreference = 'Stop'
$service = 'SmartMail'
$account = "NT SERVICE\$service"
$source = $PSScriptRoot

# 1. Stop a running service (upgrade) before its files are replaced.
$existing = Get-Service -Name $service -ErrorAction SilentlyContinue
$wasRunning = $existing -and $existing.Status -ne 'Stopped'
if ($wasRunning) {
    Stop-Service -Name $service
    $existing.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(90))
}

# 2. The program; appsettings.json and the cli are the administrator's and are never overwritten.
New-Item -ItemType Directory -Force -Path $ProgramDir | Out-Null
& robocopy (Join-Path $source 'program') $ProgramDir /MIR /XF appsettings.json /NFL /NDL /NJH /NJS /NP | Out-Null
if ($LASTEXITCODE -ge 8) { throw "robocopy failed with exit code $LASTEXITCODE" }
$settings = Join-Path $ProgramDir 'appsettings.json'
if (-not (Test-Path $settings)) {
    $json = (Get-Content (Join-Path $source 'appsettings.json') -Raw).
        Replace('@DATA_DIR@', $DataDir.Replace('\', '\\')).
        Replace('@PROGRAM_DIR@', $ProgramDir.Replace('\', '\\'))
    Set-Content -Path $settings -Value $json -Encoding UTF8
}

# 3. The data directory: no inherited access; the service account may modify, SYSTEM and Administrators have full control.
New-Item -ItemType Directory -Force -Path $DataDir, (Join-Path $DataDir 'secrets') | Out-Null
& icacls $DataDir /inheritance:r /grant:r "*S-1-5-18:(OI)(CI)F" "*S-1-5-32-544:(OI)(CI)F" | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls on $DataDir failed" }

# 4. The service, as its virtual account.
if (-not $existing) {
    & sc.exe create $service binPath= "`"$(Join-Path $ProgramDir 'SmartMail.Worker.exe')`"" start= delayed-auto obj= $account DisplayName= 'SmartMail mail routing' | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "sc.exe create failed with exit code $LASTEXITCODE" }
    & sc.exe description $service 'Routes mail from IMAP mailboxes to departments (SmartMail)' | Out-Null
    & sc.exe failure $service reset= 86400 actions= restart/10000/restart/60000// | Out-Null
}
# The virtual account exists once the service does: grant it its rights now.
& icacls $DataDir /grant:r "${account}:(OI)(CI)M" | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls grant for $account on $DataDir failed" }
& icacls $settings /grant:r "${account}:R" | Out-Null

if ($wasRunning -or $Start) {
    Start-Service -Name $service
}
Write-Host "SmartMail installed in $ProgramDir, data in $DataDir (access: SYSTEM, Administrators, $account)."
Write-Host "Edit $settings, then check it:  cd `"$ProgramDir`"; .\smartmail.exe check"
if (-not ($wasRunning -or $Start)) { Write-Host "Start the service with:  Start-Service $service" }
