//! French and English. Every text the console shows is a [`Text`] key, so a missing translation
//! is a compile error, not a blank on screen.

use gloo_storage::{LocalStorage, Storage};

const STORAGE_KEY: &str = "cartouche.lang";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    /// The remembered choice, else the browser's preference, else English.
    pub fn initial() -> Lang {
        if let Ok(saved) = LocalStorage::get::<String>(STORAGE_KEY) {
            return Lang::from_tag(&saved);
        }
        let browser = web_sys::window().and_then(|w| w.navigator().language()).unwrap_or_default();
        Lang::from_tag(&browser)
    }

    fn from_tag(tag: &str) -> Lang {
        if tag.to_ascii_lowercase().starts_with("fr") { Lang::Fr } else { Lang::En }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    pub fn remember(self) {
        let _ = LocalStorage::set(STORAGE_KEY, self.tag());
        if let Some(html) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = html.set_attribute("lang", self.tag());
        }
    }

    pub fn t(self, text: Text) -> &'static str {
        let (en, fr) = text.pair();
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text {
    AppTagline,
    SignIn,
    SignInTitle,
    Email,
    Password,
    SigningIn,
    SignOut,
    Loading,
    LoadMore,
    Retry,
    Overview,
    Sites,
    Users,
    Customers,
    ApiTokens,
    Name,
    TimeZone,
    Address,
    Tenant,
    Role,
    Status,
    Actions,
    Create,
    Delete,
    Revoke,
    Enable,
    Disable,
    Enabled,
    Disabled,
    Active,
    Inactive,
    Expires,
    LastUsed,
    LastLogin,
    Never,
    Created,
    Parent,
    DisplayName,
    ExpiresInDays,
    NewSite,
    NewUser,
    NewCustomer,
    NewApiToken,
    NoSites,
    NoUsers,
    NoCustomers,
    NoApiTokens,
    SecretOnce,
    SignedInAs,
    YourTenant,
    YourRole,
    OverviewIntro,
    NotFound,
    BackHome,
    Language,
    RoleAdmin,
    RoleManager,
    RoleTechnician,
    RoleViewer,
    ConfirmDelete,
    SessionExpired,
    MainNavigation,
    Devices,
    Search,
    SearchHint,
    AnyStatus,
    AnySite,
    Vendor,
    Model,
    Serial,
    Site,
    Pages,
    Supplies,
    LastSeen,
    NoDevices,
    StatusOk,
    StatusWarning,
    StatusError,
    StatusOffline,
    StatusUnknown,
    Filter,
    Clear,
    FlaggedCounter,
    FleetAtAGlance,
    OpenAlerts,
    LowSupplies,
    AgentsLinked,
    SeeDevices,
    Identity,
    Mac,
    HostName,
    Firmware,
    Location,
    Profiles,
    FirstSeen,
    Counters,
    PagesLast90Days,
    NoCounterHistory,
    Alerts,
    NoAlerts,
    Started,
    Ended,
    StillOpen,
    Severity,
    SupplyHistory,
    Installed,
    PartNumber,
    Addresses,
    Since,
    BackToDevices,
}

impl Text {
    fn pair(self) -> (&'static str, &'static str) {
        use Text::*;
        match self {
            AppTagline => ("Print fleet management", "Gestion de parc d'impression"),
            SignIn => ("Sign in", "Connexion"),
            SignInTitle => ("Sign in to Cartouche", "Connexion à Cartouche"),
            Email => ("E-mail", "E-mail"),
            Password => ("Password", "Mot de passe"),
            SigningIn => ("Signing in…", "Connexion…"),
            SignOut => ("Sign out", "Déconnexion"),
            Loading => ("Loading…", "Chargement…"),
            LoadMore => ("Load more", "Afficher plus"),
            Retry => ("Retry", "Réessayer"),
            Overview => ("Overview", "Vue d'ensemble"),
            Sites => ("Sites", "Sites"),
            Users => ("Users", "Utilisateurs"),
            Customers => ("Customers", "Clients"),
            ApiTokens => ("API tokens", "Jetons d'API"),
            Name => ("Name", "Nom"),
            TimeZone => ("Time zone", "Fuseau horaire"),
            Address => ("Address", "Adresse"),
            Tenant => ("Tenant", "Locataire"),
            Role => ("Role", "Rôle"),
            Status => ("Status", "État"),
            Actions => ("Actions", "Actions"),
            Create => ("Create", "Créer"),
            Delete => ("Delete", "Supprimer"),
            Revoke => ("Revoke", "Révoquer"),
            Enable => ("Enable", "Activer"),
            Disable => ("Disable", "Désactiver"),
            Enabled => ("Enabled", "Actif"),
            Disabled => ("Disabled", "Désactivé"),
            Active => ("Active", "Actif"),
            Inactive => ("Revoked or expired", "Révoqué ou expiré"),
            Expires => ("Expires", "Expire le"),
            LastUsed => ("Last used", "Dernière utilisation"),
            LastLogin => ("Last sign-in", "Dernière connexion"),
            Never => ("never", "jamais"),
            Created => ("Created", "Créé le"),
            Parent => ("Dealer", "Revendeur"),
            DisplayName => ("Display name", "Nom affiché"),
            ExpiresInDays => ("Valid for (days)", "Validité (jours)"),
            NewSite => ("New site", "Nouveau site"),
            NewUser => ("New user", "Nouvel utilisateur"),
            NewCustomer => ("New customer", "Nouveau client"),
            NewApiToken => ("New API token", "Nouveau jeton d'API"),
            NoSites => ("No sites yet.", "Aucun site pour l'instant."),
            NoUsers => ("No users.", "Aucun utilisateur."),
            NoCustomers => ("No customers yet.", "Aucun client pour l'instant."),
            NoApiTokens => ("No API tokens yet.", "Aucun jeton d'API pour l'instant."),
            SecretOnce => (
                "Copy this secret now: it will not be shown again.",
                "Copiez ce secret maintenant : il ne sera plus affiché.",
            ),
            SignedInAs => ("Signed in as", "Connecté en tant que"),
            YourTenant => ("Tenant", "Locataire"),
            YourRole => ("Role", "Rôle"),
            OverviewIntro => (
                "Set up your sites, your customers and who may work on them.",
                "Configurez vos sites, vos clients et les personnes qui y travaillent.",
            ),
            NotFound => ("This page does not exist.", "Cette page n'existe pas."),
            BackHome => ("Back to the overview", "Retour à la vue d'ensemble"),
            Language => ("Language", "Langue"),
            RoleAdmin => ("Admin", "Administrateur"),
            RoleManager => ("Manager", "Responsable"),
            RoleTechnician => ("Technician", "Technicien"),
            RoleViewer => ("Viewer", "Lecteur"),
            ConfirmDelete => ("Delete for good?", "Supprimer définitivement ?"),
            SessionExpired => ("Your session ended; sign in again.", "Votre session a expiré ; reconnectez-vous."),
            MainNavigation => ("Main navigation", "Navigation principale"),
            Devices => ("Devices", "Périphériques"),
            Search => ("Search", "Rechercher"),
            SearchHint => ("Serial, model, address, host name…", "Numéro de série, modèle, adresse, nom d'hôte…"),
            AnyStatus => ("Any status", "Tous les états"),
            AnySite => ("Any site", "Tous les sites"),
            Vendor => ("Vendor", "Fabricant"),
            Model => ("Model", "Modèle"),
            Serial => ("Serial", "N° de série"),
            Site => ("Site", "Site"),
            Pages => ("Pages", "Pages"),
            Supplies => ("Supplies", "Consommables"),
            LastSeen => ("Last seen", "Vu le"),
            NoDevices => (
                "No devices match. Agents add the printers they discover.",
                "Aucun périphérique ne correspond. Les agents ajoutent les imprimantes qu'ils découvrent.",
            ),
            StatusOk => ("OK", "OK"),
            StatusWarning => ("Warning", "Avertissement"),
            StatusError => ("Error", "Erreur"),
            StatusOffline => ("Offline", "Hors ligne"),
            StatusUnknown => ("Unknown", "Inconnu"),
            Filter => ("Filter", "Filtrer"),
            Clear => ("Clear", "Effacer"),
            Identity => ("Identity", "Identité"),
            Mac => ("MAC address", "Adresse MAC"),
            HostName => ("Host name", "Nom d'hôte"),
            Firmware => ("Firmware", "Micrologiciel"),
            Location => ("Location", "Emplacement"),
            Profiles => ("Read with", "Lu avec"),
            FirstSeen => ("First seen", "Vu la première fois"),
            Counters => ("Counters", "Compteurs"),
            PagesLast90Days => ("Total pages, last 90 days", "Pages au total, 90 derniers jours"),
            NoCounterHistory => ("No counter history yet.", "Pas encore d'historique de compteurs."),
            Alerts => ("Alerts", "Alertes"),
            NoAlerts => ("No alerts.", "Aucune alerte."),
            Started => ("Started", "Début"),
            Ended => ("Ended", "Fin"),
            StillOpen => ("open", "en cours"),
            Severity => ("Severity", "Gravité"),
            SupplyHistory => ("What happened to the supplies", "Historique des consommables"),
            Installed => ("Installed", "Installé le"),
            PartNumber => ("Part number", "Référence"),
            Addresses => ("Addresses", "Adresses"),
            Since => ("Since", "Depuis"),
            BackToDevices => ("Back to the devices", "Retour aux périphériques"),
            FleetAtAGlance => ("The fleet at a glance", "Le parc en un coup d'œil"),
            OpenAlerts => ("Open alerts", "Alertes en cours"),
            LowSupplies => ("Supplies below 10\u{a0}%", "Consommables sous 10\u{a0}%"),
            AgentsLinked => ("Agents linked", "Agents connectés"),
            SeeDevices => ("See the devices", "Voir les périphériques"),
            FlaggedCounter => (
                "Flagged: not billed as is (decrease, wrap or implausible jump)",
                "Signalé : non facturé tel quel (baisse, rebouclage ou saut improbable)",
            ),
        }
    }
}
